"""Config mistakes caught before anything is built, each named by its key.

Types come from OmegaConf structured configs (dataclass schemas): a group's values are merged
into its schema, which refuses a value of the wrong type with the key's name. The schemas list
only the keys every option of a group shares; options keep their own extra keys.
"""

from dataclasses import dataclass, fields
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ValidationError


class ConfigError(ValueError):
    """The configuration cannot work; the message says what to change."""


@dataclass
class OptimizerSchema:
    lr: float = 1e-3
    weight_decay: float = 0.0


@dataclass
class DataSchema:
    image_size: int = 64
    batch_size: int = 32
    num_workers: int = 0
    flip: bool = True
    half_size_epochs: int = 0


@dataclass
class TrainerSchema:
    max_epochs: int = 10
    min_epochs: int = 1
    log_every_n_steps: int = 10
    check_val_every_n_epoch: int = 1
    deterministic: bool = False


@dataclass
class LossTermSchema:
    weight: float = 1.0


SCHEMAS = {"optimizer": OptimizerSchema, "data": DataSchema, "trainer": TrainerSchema}


def _check_typed(key: str, section: Any, schema: type) -> None:
    present = {f.name: section[f.name] for f in fields(schema) if f.name in section}
    try:
        OmegaConf.merge(OmegaConf.structured(schema), present)
    except ValidationError as error:
        name = error.key if error.key is not None else "?"
        expected = {f.name: f.type for f in fields(schema)}.get(str(name))
        kind = getattr(expected, "__name__", str(expected))
        article = "an" if kind[0] in "aeiou" else "a"
        raise ConfigError(f"{key}.{name}={present.get(str(name))!r} is not {article} {kind}: set {key}.{name} "
                          f"to {article} {kind}.") from None  # fmt: skip


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
        _check_typed(f"loss.{name}", term, LossTermSchema)


def check_types(cfg: DictConfig) -> None:
    """Refuse a value of the wrong type in the optimizer, data, trainer and loss groups."""
    for key, schema in SCHEMAS.items():
        if cfg.get(key) is not None:
            _check_typed(key, cfg[key], schema)
    if cfg.get("loss") is not None:
        check_loss_terms(cfg.loss)
