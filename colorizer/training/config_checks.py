"""Config mistakes caught before anything is built, each named by its key.

Types come from OmegaConf structured configs (dataclass schemas): a group's values are merged
into its schema, which refuses a value of the wrong type with the key's name. The schemas list
only the keys every option of a group shares; options keep their own extra keys.
"""

from dataclasses import fields, make_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ValidationError


class ConfigError(ValueError):
    """The configuration cannot work; the message says what to change."""


# The typed keys every option of a group shares; options keep their own extra keys.
TYPED_KEYS: dict[str, dict[str, type]] = {
    "optimizer": {"lr": float, "weight_decay": float},
    "data": {
        "image_size": int,
        "batch_size": int,
        "num_workers": int,
        "flip": bool,
        "half_size_epochs": int,
        "crop_scale": float,
    },
    "trainer": {
        "max_epochs": int,
        "min_epochs": int,
        "log_every_n_steps": int,
        "check_val_every_n_epoch": int,
    },  # deterministic is left out: Lightning also takes "warn".
    "loss term": {"weight": float},
}
# Each group's schema: a dataclass whose fields have those types (and no defaults).
SCHEMAS = {group: make_dataclass(f"{group.title().replace(' ', '')}Schema", list(keys.items()))
           for group, keys in TYPED_KEYS.items()}  # fmt: skip


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
        _check_typed(f"loss.{name}", term, SCHEMAS["loss term"])


def check_types(cfg: DictConfig) -> None:
    """Refuse a value of the wrong type in the optimizer, data, trainer and loss groups."""
    for key in ("optimizer", "data", "trainer"):
        if cfg.get(key) is not None:
            _check_typed(key, cfg[key], SCHEMAS[key])
    if cfg.get("loss") is not None:
        check_loss_terms(cfg.loss)
