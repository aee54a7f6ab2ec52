"""Configs as the commands compose them, with every output in a test's own folder."""

from pathlib import Path

from omegaconf import DictConfig, open_dict

from colorizer.config import CONF_DIR, REPO, compose_command_config

__all__ = ["CONF_DIR", "REPO", "TINY", "compose_config", "evaluate_cfg"]

# Small and fast: enough to exercise every code path on 2 CPU cores.
TINY = [
    "data.source.num_images=24",
    "data.image_size=32",
    "data.batch_size=8",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def compose_config(overrides: list[str], output_dir: Path, config_name: str = "train") -> DictConfig:
    """The composed config of an entry point (`train` by default) with the run folder and the
    decode cache under `output_dir`."""
    cfg = compose_command_config(config_name, overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.cache_dir = str(output_dir / "cache")
    return cfg


def evaluate_cfg(tmp_path: Path, *overrides: str) -> DictConfig:
    """The `evaluate` config, on 30 synthetic images unless `overrides` choose other data."""
    synthetic = not any(o.startswith("data=") for o in overrides)
    return compose_config(
        (["data.source.num_images=30"] if synthetic else []) + list(overrides), tmp_path / "eval", "evaluate"
    )
