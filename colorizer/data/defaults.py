"""Defaults that the Python classes and the Hydra config share, written once here.

The config reads them through ConfigStore (`data/_cache_defaults`, which `conf/data/_common.yaml`
lists in its defaults), the constructors and cache functions through these names.
"""

import os
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

SPLIT_FRACTIONS = {"train": 0.64, "val": 0.16, "test": 0.20}
# Decoded images up to this size stay in RAM; a larger set is memory-mapped from the cache file.
RAM_BUDGET_GB = 8.0


def default_cache_dir() -> Path:
    """Where the decode cache and the colour table live: $COLORIZER_CACHE_DIR, else ~/.cache/colorizer."""
    return Path(os.environ.get("COLORIZER_CACHE_DIR", "~/.cache/colorizer")).expanduser()


def register_config_defaults() -> None:
    """Store the shared defaults as the config `data/_cache_defaults`, and `${default_cache_dir:}`
    for `conf/paths`."""
    OmegaConf.register_new_resolver("default_cache_dir", lambda: str(default_cache_dir()), replace=True)
    node = {"splits": dict(SPLIT_FRACTIONS), "ram_budget_gb": RAM_BUDGET_GB}
    ConfigStore.instance().store(group="data", name="_cache_defaults", node=node)
