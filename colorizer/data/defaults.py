"""Defaults of the data modules built in Python without Hydra. The config's are in
conf/data/_cache_defaults.yaml; tests/test_config.py keeps the two equal."""

SPLIT_FRACTIONS = {"train": 0.64, "val": 0.16, "test": 0.20}
# Decoded images up to this size stay in RAM; a larger set is memory-mapped from the cache file.
RAM_BUDGET_GB = 8.0
