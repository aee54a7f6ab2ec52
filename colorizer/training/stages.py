"""A staged recipe: one command, several ordinary runs in a row, each starting from the weights of
the one before (`init_from`), for example many small photos first, then fewer large ones.

A preset lists its stages under `stages`, each a partial config merged over the run's own:

    stages:
      semantics: {data: {image_size: 64}, trainer: {max_epochs: 1}}
      detail: {data: {source: {train_only_root: null}}, trainer: {max_epochs: 8}}

Stage `<name>` runs in `<run folder>/<name>/` as a whole run (checkpoints, metrics.json, logs). A
stage whose metrics.json exists is finished and skipped; one with a last.ckpt resumes from it; so
`resume=<run folder>` after a kill carries on where the kill left.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from colorizer.config import ConfigError


@dataclass
class Stage:
    """One stage: its name, its whole config, and its run folder."""

    name: str
    config: DictConfig
    folder: Path

    def finished_metrics(self) -> dict[str, Any] | None:
        """The stage's metrics.json when it ran to the end, else None."""
        path = self.folder / "metrics.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def can_resume(self) -> bool:
        return (self.folder / "checkpoints" / "last.ckpt").is_file()


def applicable(settings: DictConfig, base: DictConfig, where: str) -> DictConfig:
    """The stage's `settings` that apply to `base`. A key the run does not have is refused by name,
    except one set to null: unsetting what is not there changes nothing (a stage's
    `data.source.train_only_root: null` on a data option without extra photos)."""
    kept = {}
    for key, value in settings.items():
        if key not in base:
            if value is None:
                continue
            raise ConfigError(f"{where}.{key} is not a key of the run's config: a stage only changes settings it has.")
        if isinstance(value, DictConfig) and isinstance(base[key], DictConfig):
            kept[key] = applicable(value, base[key], f"{where}.{key}")
        else:
            kept[key] = value
    return OmegaConf.create(kept)


def plan_stages(cfg: DictConfig, output_dir: Path) -> list[Stage]:
    """Each stage's config: the run's config less `stages`, with the stage's settings merged over it
    and its own run folder. `init_from` and `ckpt_path` are the caller's to set per stage."""
    stages = cfg.get("stages")
    if not isinstance(stages, DictConfig) or not stages:
        raise ConfigError("stages must map each stage's name to its settings, e.g. stages.small.data.image_size=64.")
    base = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "stages"])
    OmegaConf.set_struct(base, False)
    planned = []
    for name, settings in stages.items():
        if settings is not None and not isinstance(settings, DictConfig):
            raise ConfigError(f"stages.{name} must be a mapping of settings (or null for none), not {settings!r}.")
        config = OmegaConf.merge(base, applicable(settings or OmegaConf.create({}), base, f"stages.{name}"))
        folder = output_dir / str(name)
        config.paths.output_dir = str(folder)
        config.ckpt_path = None
        config.resume = None
        planned.append(Stage(str(name), config, folder))
    return planned
