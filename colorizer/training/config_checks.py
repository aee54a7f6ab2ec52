"""Config mistakes caught before anything is built, each named by its key.

Types come from OmegaConf structured configs (dataclass schemas): a group's values are merged
into its schema, which refuses a value of the wrong type with the key's name. The schemas list
only the keys every option of a group shares; options keep their own extra keys.
"""

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ValidationError

from colorizer.config import ConfigError
from colorizer.models.base import ColorizationNet

# The typed keys every option of a group shares; options keep their own extra keys. Each is a
# schema OmegaConf merges the group's values into (fields without defaults: only present keys are checked).


@dataclass
class OptimizerSchema:
    lr: float
    weight_decay: float


@dataclass
class DataSchema:
    image_size: int
    batch_size: int
    num_workers: int
    flip: bool
    half_size_epochs: int
    crop_scale: float


@dataclass
class TrainerSchema:  # deterministic is left out: Lightning also takes "warn".
    max_epochs: int
    max_steps: int
    min_epochs: int
    log_every_n_steps: int
    check_val_every_n_epoch: int


@dataclass
class LossTermSchema:
    weight: float


SCHEMAS: dict[str, type] = {
    "optimizer": OptimizerSchema,
    "data": DataSchema,
    "trainer": TrainerSchema,
    "loss term": LossTermSchema,
}


def _check_typed(key: str, section: Any, schema: type) -> None:
    present = {f.name: section[f.name] for f in fields(schema) if f.name in section}
    try:
        OmegaConf.merge(OmegaConf.structured(schema), present)
    except ValidationError as error:
        name = error.key if error.key is not None else "?"
        expected = {f.name: f.type for f in fields(schema)}.get(str(name))
        kind = getattr(expected, "__name__", str(expected))
        article = "an" if kind[0] in "aeiou" else "a"
        raise ConfigError(
            f"{key}.{name}={present.get(str(name))!r} is not {article} {kind}: set {key}.{name} to {article} {kind}."
        ) from None


def check_loss_terms(loss: DictConfig) -> None:
    """Every entry of `loss` but `_target_` must be a whole term (a mapping with a `_target_`),
    for example not what `++loss.perceptual.pretrained=false` leaves on a loss without that term."""
    terms = [name for name, term in loss.items() if name != "_target_" and isinstance(term, DictConfig)]
    whole = [name for name in terms if "_target_" in loss[name]]
    for name, term in loss.items():
        if name == "_target_":
            continue
        if not isinstance(term, DictConfig) or "_target_" not in term:
            raise ConfigError(
                f"loss.{name} is not a loss term this loss has (its terms: {', '.join(whole) or 'none'}). "
                f"Change one of those, or add a term with its class: +loss.{name}._target_=colorizer.losses.<Term>."
            )
        _check_typed(f"loss.{name}", term, SCHEMAS["loss term"])


# Settings with a bound: (the smallest value allowed, what it is). A list is checked item by item;
# a key an option does not have is skipped.
LOWER_BOUNDS: dict[str, tuple[float, str]] = {
    "data.image_size": (8, "a size in pixels"),  # the data modules refuse less, too
    "data.source_size": (8, "a size in pixels"),
    "data.batch_size": (1, "a count"),
    "data.num_workers": (0, "a count"),
    "data.source.num_images": (1, "a count"),
    "data.half_size_epochs": (0, "a count"),
    "trainer.log_every_n_steps": (1, "a count"),
    "optimizer.lr": (0, "a learning rate"),
    "optimizer.weight_decay": (0, "a weight decay"),
    "model.base_width": (1, "a width"),
    "model.decoder_base_width": (1, "a width"),
    "model.hint_width": (1, "a width"),
    "model.widths": (1, "a width"),
    "model.depth": (1, "a count"),
    "model.latent_dim": (1, "a width"),
    "model.image_size": (1, "a size in pixels"),
    "model.encoder.freeze_epochs": (0, "a count"),
    "model.encoder.lr_mult": (0, "a learning-rate multiplier"),
    "model.head.step": (1, "a bin size in Lab units"),
    "model.head.temperature": (0, "a temperature"),
}
# Fractions: (low, high], except where the low end is allowed.
FRACTIONS = {
    "data.crop_scale": False,
    "data.train_fraction": False,
    "model.dropout": True,
    "model.decoder_dropout": True,
    "model.encoder_dropout": True,
}


def _numbers(value: Any) -> list:
    return list(value) if OmegaConf.is_list(value) or isinstance(value, list | tuple) else [value]


def check_ranges(cfg: DictConfig) -> None:
    """Refuse sizes, widths and counts below their bound and fractions outside [0, 1], by key."""
    for key, (lowest, kind) in LOWER_BOUNDS.items():
        value = OmegaConf.select(cfg, key, default=None)
        for number in _numbers(value) if value is not None else []:
            if isinstance(number, int | float) and not isinstance(number, bool) and number < lowest:
                raise ConfigError(f"{key}={value} is out of range: {kind}, at least {lowest:g}.")
    for key, zero_allowed in FRACTIONS.items():
        value = OmegaConf.select(cfg, key, default=None)
        for number in _numbers(value) if value is not None else []:
            if isinstance(number, int | float) and not (0 <= number <= 1 and (zero_allowed or number > 0)):
                low = "0 <=" if zero_allowed else "0 <"
                raise ConfigError(f"{key}={value} is out of range: a fraction, {low} {key.rsplit('.', 1)[1]} <= 1.")


def check_types(cfg: DictConfig) -> None:
    """Refuse a value of the wrong type in the optimizer, data, trainer and loss groups."""
    for key in ("optimizer", "data", "trainer"):
        if cfg.get(key) is not None:
            _check_typed(key, cfg[key], SCHEMAS[key])
    if cfg.get("loss") is not None:
        check_loss_terms(cfg.loss)


def check_config(cfg: DictConfig) -> None:
    """Problems that would otherwise surface late, or as a bare traceback."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        hints = {"data.source.root": "the folder with your images, e.g. data.source.root=~/photos"}
        raise ConfigError(
            "Missing required settings: " + ", ".join(f"{k} ({hints[k]})" if k in hints else k for k in missing)
        )
    check_types(cfg)
    check_ranges(cfg)
    output_dir = Path(cfg.paths.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise ConfigError(
            f"Cannot write to the output folder {output_dir} ({error.strerror}). "
            "Choose a writable one with hydra.run.dir=... (or paths.output_dir=...)."
        ) from error


def check_model_accepts(net: ColorizationNet, image_size: int) -> None:
    """Run one tiny forward pass at the data's image size before training starts."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            output = net.colorize(torch.zeros(1, 1, image_size, image_size))
    except Exception as error:
        raise ConfigError(
            f"{type(net).__name__} cannot take data.image_size={image_size}: {error} "
            "Change data.image_size, or the model's own image_size to match it."
        ) from error
    finally:
        net.train(was_training)
    if output.ab.shape[-2:] != (image_size, image_size):
        raise ConfigError(f"{type(net).__name__} returns {tuple(output.ab.shape[-2:])} for a {image_size} input.")


def check_multirun_strategy(cfg: DictConfig, multirun: bool) -> None:
    """Refuse `strategy=ddp` under Hydra multirun: it relaunches the command line per rank,
    so every rank would run the whole sweep again."""
    strategy = str(cfg.trainer.get("strategy", "auto"))
    if multirun and strategy.startswith("ddp") and not strategy.startswith("ddp_spawn"):
        raise ConfigError(
            f"trainer.strategy={strategy} cannot run inside a Hydra multirun (it relaunches the whole sweep "
            "on every rank). Use trainer.strategy=ddp_spawn for the sweep, or launch one job per run with "
            "hydra/launcher=slurm (or submitit_local), where Lightning's DDP works as usual."
        )
