"""Where things are (the repository, its configs, the cache folder), composing a command's Hydra config
from Python as the command itself would (for the tests and the bench), and the error for a config
that cannot work."""

import os
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from colorizer.errors import UserError

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"


class ConfigError(UserError, ValueError):
    """The configuration cannot work; the message says what to change."""


def default_cache_dir() -> Path:
    """Where the decode cache and the colour table live: $COLORIZER_CACHE_DIR, else ~/.cache/colorizer."""
    return Path(os.environ.get("COLORIZER_CACHE_DIR", "~/.cache/colorizer")).expanduser()


def register_resolvers() -> None:
    """The resolvers conf/ uses, registered by every entry point before Hydra composes its config:
    `${first:${oc.select:resume,null},outputs/...}` (the run folder is `resume` when given: oc.select
    alone returns a null value rather than its default) and `${default_cache_dir:}` (one definition
    of the cache folder for the config and the code)."""
    OmegaConf.register_new_resolver(
        "first", lambda chosen, default: default if chosen is None else chosen, replace=True
    )
    OmegaConf.register_new_resolver("default_cache_dir", lambda: str(default_cache_dir()), replace=True)


def compose_command_config(config_name: str, overrides: list[str]) -> DictConfig:
    """The config `python -m colorizer.<config_name> OVERRIDES` runs with (`train`, `evaluate`, ...)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)
