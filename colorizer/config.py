"""Composing a command's Hydra config from Python as the command itself would: for the tests and the bench."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"


def compose_command_config(config_name: str, overrides: list[str]) -> DictConfig:
    """The config `python -m colorizer.<config_name> OVERRIDES` runs with (`train`, `evaluate`, ...)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)
