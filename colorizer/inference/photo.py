"""One photo through a trained colorizer: prepare (open, L, the model's input, hints) -> net ->
full-resolution colour (the model's ab upsampled, joined with the photo's own L)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorizer.color import AB_SCALE
from colorizer.color.srgb_table import L_LEVELS, lightness_level, packed_to_image, upsampled_to_srgb8
from colorizer.data.images import open_photo
from colorizer.inference.checkpoints import TrainedColorizer
from colorizer.inference.hint_points import user_hints


def model_input(level: torch.Tensor, image_size: int) -> torch.Tensor:
    """The model's input for one image, L/100 [1,1,S,S], from its table levels [H,W] (L * 255 / 100,
    `srgb_table.lightness_level`) resized with antialiasing: within 0.001 of resizing the exact L,
    without computing it at full size."""
    levels = level[None, None].float()
    return F.interpolate(levels, size=(image_size, image_size), mode="bilinear", antialias=True) / (L_LEVELS - 1)


@dataclass
class PreparedPhoto:
    """One photo made ready for the network, with what colouring it at full size needs."""

    image: Image.Image  # 'RGB': the colour channels as they are
    alpha: Image.Image | None  # 'L': the input's transparency, given back to the output
    level: torch.Tensor  # [H,W] uint8: the original L's level in the colour table
    model_input: torch.Tensor  # [1,1,S,S]: L/100 resized to the model's size
    hints: torch.Tensor | None  # [1,3,S,S]: the user's hint channels, if any


def prepare_image(
    image: Image.Image,
    alpha: Image.Image | None,
    model_size: int,
    points: list[dict[str, Any]] | None = None,
    hint_side: int = 3,
) -> PreparedPhoto:
    """Make the network's input at `model_size` from an 'RGB' image, and the hint channels of
    `points` (photo pixels). Raises HintError for a point."""
    level = lightness_level(np.asarray(image))
    hints = user_hints(points, image.size, model_size, hint_side) if points else None
    return PreparedPhoto(image, alpha, level, model_input(level, model_size), hints)


def prepare_photo(
    source: str | Path | BinaryIO,
    model_size: int,
    points: list[dict[str, Any]] | None = None,
    hint_side: int = 3,
    max_pixels: int | None = None,
) -> PreparedPhoto:
    """Open a file (or file object) and prepare it (`prepare_image`). Raises ImageDecodeError
    (ImageTooLargeError past `max_pixels`) for the file, HintError for a point."""
    image, alpha = open_photo(source, max_pixels)
    return prepare_image(image, alpha, model_size, points, hint_side)


def batch_hints(hints: list[torch.Tensor | None], size: int) -> torch.Tensor | None:
    """Hint channels [B,3,S,S] of a batch from each photo's [1,3,S,S] or None (zeros: no hint);
    None when no photo has any."""
    if all(channels is None for channels in hints):
        return None
    return torch.cat([torch.zeros(1, 3, size, size) if channels is None else channels for channels in hints])


@torch.no_grad()
def predict_ab(
    net: torch.nn.Module,
    inputs: torch.Tensor,
    hints: torch.Tensor | None,
    device: torch.device,
    bf16: bool = False,
    temperature: float | None = None,
) -> torch.Tensor:
    """The net's ab [B,2,S,S] (fp32) for inputs [B,1,S,S] and hint channels [B,3,S,S] or None,
    under bfloat16 autocast with `bf16`; a classification head decodes at `temperature` (None: its own)."""
    with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
        return net(inputs.to(device), None if hints is None else hints.to(device), temperature).float()


def full_resolution_packed(level: torch.Tensor, ab_small: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Upsample predicted ab [1,2,S,S] bilinearly to the photo's size, join it with the ORIGINAL
    L (its table levels [H,W] from `srgb_table.lightness_level`) and convert to gamut-mapped 8-bit sRGB,
    packed [H,W] int32 (`upsampled_to_srgb8`). The eye forgives low-resolution chroma, not blurred luminance."""
    return upsampled_to_srgb8(level, ab_small[0].float() * AB_SCALE, table)


def full_resolution_image(level: torch.Tensor, ab_small: torch.Tensor, table: torch.Tensor) -> Image.Image:
    """`full_resolution_packed` as an 8-bit RGB image."""
    return packed_to_image(full_resolution_packed(level, ab_small, table))


def colorize_prepared(
    model: TrainedColorizer,
    photo: PreparedPhoto,
    table: torch.Tensor,
    device: torch.device,
    bf16: bool = False,
    temperature: float | None = None,
) -> Image.Image:
    """prepare -> net -> colour for one photo: its full resolution with its own L. `table` is
    `srgb_table()` on `device`; `temperature` (None: `model.temperature`) decodes a classification
    head. `colorizer.predict` runs the same three steps in batches."""
    chosen = model.temperature if temperature is None else temperature
    ab_small = predict_ab(model.net, photo.model_input, photo.hints, device, bf16, chosen)
    return full_resolution_image(photo.level.to(device), ab_small, table)
