"""Defaults that the Python classes and the Hydra config share, written once here.

The config reads them through ConfigStore (`data/_cache_defaults`, which `conf/data/_common.yaml`
lists in its defaults), the constructors and cache functions through these names.
"""

from hydra.core.config_store import ConfigStore

SPLIT_FRACTIONS = {"train": 0.64, "val": 0.16, "test": 0.20}
# Decoded images up to this size stay in RAM; a larger set is memory-mapped from the cache file.
RAM_BUDGET_GB = 8.0


def register_config_defaults() -> None:
    """Store the shared defaults as the config `data/_cache_defaults`."""
    node = {"splits": dict(SPLIT_FRACTIONS), "ram_budget_gb": RAM_BUDGET_GB}
    ConfigStore.instance().store(group="data", name="_cache_defaults", node=node)
