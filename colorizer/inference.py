"""Using a trained colorizer outside training: load it from a checkpoint alone, colorize
photos at full resolution."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from PIL import Image

from colorizer.checkpointing import CheckpointError, read_checkpoint
from colorizer.color import AB_SCALE, L_SCALE
from colorizer.data.hint_points import user_hints
from colorizer.data.images import open_photo
from colorizer.models.base import ColorizationNet
from colorizer.models.encoders import without_pretrained_loading
from colorizer.models.heads import set_temperature
from colorizer.srgb_table import lab_to_srgb8, lightness, packed_to_image

log = logging.getLogger(__name__)


@dataclass
class TrainedColorizer:
    """A net rebuilt from a checkpoint, with what it was trained on."""

    net: ColorizationNet
    config: dict[str, Any]
    image_size: int
    train_mean_ab: torch.Tensor
    path: Path


def resolve_device(name: str) -> torch.device:
    """The device `name` says: "auto" is CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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
    nor the pretrained encoder's weights package (the checkpoint holds those weights too)."""
    checkpoint = read_checkpoint(path)
    config = checkpoint.get("colorizer_config")
    if not config or "model" not in config:
        raise CheckpointError(f"{path} was not written by colorizer.train (it has no colorizer_config).")
    net: ColorizationNet = instantiate(without_pretrained_loading(config["model"]))
    state = checkpoint["state_dict"]
    net.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")})
    net.to(device).eval()
    set_temperature(net, temperature)
    return TrainedColorizer(
        net=net,
        config=config,
        image_size=int(config["data"]["image_size"]),
        train_mean_ab=state.get("train_mean_ab", torch.zeros(2)).float(),
        path=Path(path),
    )


def checkpoint_paths(ckpt_path: str | None, ckpt_paths: list[str] | None) -> list[str]:
    """The checkpoints a command was given as `ckpt_path=<file>` and / or `ckpt_paths=[a,b]`."""
    paths = ([ckpt_path] if ckpt_path else []) + list(ckpt_paths or [])
    if not paths:
        raise CheckpointError("No model given: pass ckpt_path=<file> or ckpt_paths=[<file>,<file>].")
    return paths


def load_colorizers(
    paths: list[str], device: str | torch.device = "cpu", temperature: float | None = None
) -> dict[str, TrainedColorizer]:
    """Each checkpoint loaded under a short unique label (`checkpoint_label`), in order."""
    models: dict[str, TrainedColorizer] = {}
    for path in paths:
        models[checkpoint_label(Path(path), set(models))] = load_colorizer(path, device, temperature)
    return models


def model_input(L_full: torch.Tensor, image_size: int) -> torch.Tensor:
    """The model's input for one image: L/100 [1,1,H,W] resized to [1,1,S,S] with antialiasing."""
    return F.interpolate(L_full / L_SCALE, size=(image_size, image_size), mode="bilinear", antialias=True)


@dataclass
class PreparedPhoto:
    """One photo made ready for the network, with what colouring it at full size needs."""

    image: Image.Image  # 'RGB': the colour channels as they are
    alpha: Image.Image | None  # 'L': the input's transparency, given back to the output
    level: torch.Tensor  # [H,W] uint8: the original L's level in the colour table
    model_input: torch.Tensor  # [1,1,S,S]: L/100 resized to the model's size
    hints: torch.Tensor | None  # [1,3,S,S]: the user's hint channels, if any


def prepare_photo(
    source: str | Path | BinaryIO, model_size: int, points: list[dict[str, Any]] | None = None, hint_side: int = 3,
    max_pixels: int | None = None,
) -> PreparedPhoto:  # fmt: skip
    """Open a file (or file object) and make the network's input at `model_size`, and the hint
    channels of `points` (photo pixels). Raises ImageDecodeError (ImageTooLargeError past
    `max_pixels`) for the file, HintError for a point."""
    image, alpha = open_photo(source, max_pixels)
    L, level = lightness(np.asarray(image))
    hints = user_hints(points, image.size, model_size, hint_side) if points else None
    return PreparedPhoto(image, alpha, level, model_input(L, model_size), hints)


def full_resolution_image(level: torch.Tensor, ab_small: torch.Tensor, table: torch.Tensor) -> Image.Image:
    """Upsample predicted ab [1,2,S,S] bilinearly to the photo's size, join it with the ORIGINAL
    L (its table levels [H,W] from `srgb_table.lightness`) and convert to a gamut-mapped 8-bit
    RGB image. The eye forgives low-resolution chroma, not blurred luminance."""
    ab = F.interpolate(ab_small.float() * AB_SCALE, size=level.shape, mode="bilinear", align_corners=False)
    return packed_to_image(lab_to_srgb8(level, ab[0], table))


@torch.no_grad()
def colorize_photo(
    model: TrainedColorizer, photo: Image.Image, table: torch.Tensor, device: torch.device, bf16: bool = False,
    hints: torch.Tensor | None = None,
) -> Image.Image:  # fmt: skip
    """One 'RGB' photo at its full resolution, its L kept: the pipeline of `colorizer.predict`
    for a single image. `table` is `srgb_table()` on `device`; `hints` [1,3,S,S] at the model's
    size (`colorizer.data.hint_points.user_hints`), for a net that takes them."""
    L, level = lightness(np.asarray(photo))
    inputs = model_input(L, model.image_size).to(device)
    with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
        ab_small = model.net(inputs, None if hints is None else hints.to(device)).float()
    return full_resolution_image(level.to(device), ab_small, table)
