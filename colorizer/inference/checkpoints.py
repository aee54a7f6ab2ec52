"""A trained colorizer rebuilt from its checkpoint alone (no Lightning, no loss, no weights
package), or loaded from a traced file (`colorizer.inference.scripted`: an export, the shipped model)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate

from colorizer.errors import UserError
from colorizer.inference.scripted import load_scripted, scripted_metadata
from colorizer.models.base import ColorizationNet
from colorizer.models.encoders import without_pretrained_loading
from colorizer.models.heads import check_temperature_applies
from colorizer.weights import shipped_model


class CheckpointError(UserError, ValueError):
    """A checkpoint file is missing, damaged, or was not written by `colorizer.train`."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, or a CheckpointError that says what is wrong with the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        # Our own checkpoints hold the run config and Lightning's loop state, not only tensors.
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise CheckpointError(
            f"Checkpoint {path} cannot be read ({type(error).__name__}: {error}); it may be truncated "
            "by an interrupted run. Use another checkpoint of the run (e.g. checkpoints/last.ckpt or a best-*.ckpt)."
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint.")
    return checkpoint


@dataclass
class TrainedColorizer:
    """A net rebuilt from a checkpoint, with what it was trained on."""

    net: ColorizationNet
    config: dict[str, Any]
    image_size: int
    train_mean_ab: torch.Tensor
    path: Path
    # The classification head decodes at this temperature (None: the one it was trained with).
    temperature: float | None = None


def checkpoint_label(path: Path, taken: set[str]) -> str:
    """A short unique name for a checkpoint: its run folder and file stem."""
    run = path.parent.parent.name if path.parent.name == "checkpoints" else path.parent.name
    label = f"{run}/{path.stem}" if run else path.stem
    candidate, suffix = label, 2
    while candidate in taken:
        candidate, suffix = f"{label}#{suffix}", suffix + 1
    return candidate


def load_colorizer(
    path: str | Path, device: str | torch.device = "cpu", temperature: float | None = None
) -> TrainedColorizer:
    """Rebuild the net from the config saved in the checkpoint (no `model=` needed) and load its
    weights. `temperature`: decode a classification head at this temperature instead of its own.

    Not Lightning's `load_from_checkpoint`: the LightningModule is given built objects (any net
    with any loss, built by Hydra), which `save_hyperparameters` cannot store as a config. The
    checkpoint carries the run's Hydra config instead (`colorizer_config`), and only the net is
    rebuilt from it: using a model needs neither its loss, nor a discriminator, nor an optimiser,
    nor the pretrained encoder's weights package (the checkpoint holds those weights too).

    A TorchScript file written by `colorizer.export` or `colorizer.weights.pack` loads as a
    `ScriptedNet`, with the same metadata."""
    file = Path(path).expanduser()
    metadata = scripted_metadata(file) if file.is_file() else None
    if metadata is not None:
        net = load_scripted(file, metadata, device)
        net.check_temperature(temperature)
        return TrainedColorizer(
            net=net,
            config=metadata["config"],
            image_size=net.image_size,
            train_mean_ab=torch.tensor(metadata["train_mean_ab"], dtype=torch.float32),
            path=Path(path),
            temperature=temperature,
        )
    checkpoint = read_checkpoint(path)
    config = checkpoint.get("colorizer_config")
    if not config or "model" not in config:
        raise CheckpointError(f"{path} was not written by colorizer.train (it has no colorizer_config).")
    net: ColorizationNet = instantiate(without_pretrained_loading(config["model"]))
    state = checkpoint["state_dict"]
    net.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")})
    net.to(device).eval()
    check_temperature_applies(net, temperature)
    return TrainedColorizer(
        net=net,
        config=config,
        image_size=int(config["data"]["image_size"]),
        train_mean_ab=state.get("train_mean_ab", torch.zeros(2)).float(),
        path=Path(path),
        temperature=temperature,
    )


def checkpoint_paths(ckpt_path: str | None, ckpt_paths: list[str] | None = None) -> list[str]:
    """The checkpoints a command was given as `ckpt_path=<file>` and / or `ckpt_paths=[a,b]`; with
    neither, the model shipped with the package (`colorizer.weights`)."""
    paths = ([ckpt_path] if ckpt_path else []) + list(ckpt_paths or [])
    return paths or [str(shipped_model())]


def load_colorizers(
    paths: list[str], device: str | torch.device = "cpu", temperature: float | None = None
) -> dict[str, TrainedColorizer]:
    """Each checkpoint loaded under a short unique label (`checkpoint_label`), in order."""
    models: dict[str, TrainedColorizer] = {}
    for path in paths:
        models[checkpoint_label(Path(path), set(models))] = load_colorizer(path, device, temperature)
    return models
