"""Using a trained colorizer outside training: load it from a checkpoint alone, colorize
photos at full resolution."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from kornia.color import lab_to_rgb, rgb_to_lab

from colorizer.color import AB_SCALE, L_SCALE
from colorizer.models.base import ColorizationNet

log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint file is missing, damaged, or was not written by `colorizer.train`."""


@dataclass
class TrainedColorizer:
    """A net rebuilt from a checkpoint, with what it was trained on."""

    net: ColorizationNet
    config: dict[str, Any]
    image_size: int
    train_mean_ab: torch.Tensor
    path: Path


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


def load_colorizer(path: str | Path, device: str | torch.device = "cpu") -> TrainedColorizer:
    """Rebuild the net from the config saved in the checkpoint (no `model=` needed) and load its weights."""
    checkpoint = read_checkpoint(path)
    config = checkpoint.get("colorizer_config")
    if not config or "model" not in config:
        raise CheckpointError(f"{path} was not written by colorizer.train (it has no colorizer_config).")
    net: ColorizationNet = instantiate(config["model"])
    state = checkpoint["state_dict"]
    net.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")})
    net.to(device).eval()
    return TrainedColorizer(
        net=net,
        config=config,
        image_size=int(config["data"]["image_size"]),
        train_mean_ab=state.get("train_mean_ab", torch.zeros(2)).float(),
        path=Path(path),
    )


def gamut_map(L: torch.Tensor, ab: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """RGB [B,3,H,W] in [0, 1] of Lab (L [B,1,H,W] in 0..100, ab [B,2,H,W] in Lab units),
    reducing each out-of-gamut pixel's chroma (never its L) until it fits.

    Clamping RGB instead would change the lightness of saturated dark or bright pixels. Gray
    (ab = 0) is always in gamut, so a bisection on the chroma scale per pixel converges.
    """
    rgb = lab_to_rgb(torch.cat([L, ab], dim=1), clip=False)
    outside = ((rgb < 0) | (rgb > 1)).any(dim=1, keepdim=True)
    if not outside.any():
        return rgb
    low, high = torch.zeros_like(L), torch.ones_like(L)
    for _ in range(steps):
        middle = (low + high) / 2
        trial = lab_to_rgb(torch.cat([L, ab * middle], dim=1), clip=False)
        fits = ((trial >= 0) & (trial <= 1)).all(dim=1, keepdim=True)
        low, high = torch.where(fits, middle, low), torch.where(fits, high, middle)
    scale = torch.where(outside, low, torch.ones_like(low))
    return lab_to_rgb(torch.cat([L, ab * scale], dim=1), clip=True)


def model_input(rgb: torch.Tensor, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For one RGB image [1,3,H,W] in [0, 1]: its full-resolution Lab L [1,1,H,W] (0..100) and the
    model's input, L/100 resized to [1,1,S,S] with antialiasing."""
    L_full = rgb_to_lab(rgb)[:, :1]
    L_small = F.interpolate(L_full / L_SCALE, size=(image_size, image_size), mode="bilinear", antialias=True)
    return L_full, L_small


def full_resolution_rgb(L_full: torch.Tensor, ab_small: torch.Tensor) -> torch.Tensor:
    """Upsample predicted ab [1,2,S,S] bilinearly to L's size, join with the ORIGINAL L [1,1,H,W]
    and convert to RGB [1,3,H,W]. The eye forgives low-resolution chroma, not blurred luminance."""
    ab = F.interpolate(ab_small * AB_SCALE, size=L_full.shape[-2:], mode="bilinear", align_corners=False)
    return gamut_map(L_full, ab)
