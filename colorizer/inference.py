"""Using a trained colorizer outside training: load it from a checkpoint alone, colorize
photos at full resolution."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from kornia.color import lab_to_rgb

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
    (ab = 0) is always in gamut, so a bisection on the chroma scale converges; it runs only on
    the pixels that are out of gamut.
    """
    rgb = lab_to_rgb(torch.cat([L, ab], dim=1), clip=False)
    outside = ((rgb < 0) | (rgb > 1)).any(dim=1)  # [B,H,W]
    if outside.any():
        where = outside.nonzero(as_tuple=True)
        L_out = L[:, 0][where].view(1, 1, -1, 1)
        ab_out = ab.permute(0, 2, 3, 1)[where].T.reshape(1, 2, -1, 1)
        low, high = torch.zeros_like(L_out), torch.ones_like(L_out)
        for _ in range(steps):
            middle = (low + high) / 2
            trial = lab_to_rgb(torch.cat([L_out, ab_out * middle], dim=1), clip=False)
            fits = ((trial >= 0) & (trial <= 1)).all(dim=1, keepdim=True)
            low, high = torch.where(fits, middle, low), torch.where(fits, high, middle)
        fixed = lab_to_rgb(torch.cat([L_out, ab_out * low], dim=1), clip=False)
        rgb = rgb.permute(0, 2, 3, 1).clone()
        rgb[where] = fixed[0, :, :, 0].T
        rgb = rgb.permute(0, 3, 1, 2)
    return rgb.clamp(0, 1)


def _srgb_to_linear_table() -> np.ndarray:
    values = np.arange(256, dtype=np.float64) / 255
    return np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92)


# Relative luminance of each 8-bit sRGB value per channel: Y = sum over R, G, B (kornia's matrix row).
_LUMINANCE_TABLES = np.outer([0.212671, 0.715160, 0.072169], _srgb_to_linear_table()).astype(np.float32)


def lightness(rgb8: np.ndarray) -> torch.Tensor:
    """CIELAB L (0..100) [1,1,H,W] of an 8-bit RGB image [H,W,3], the same as kornia's rgb_to_lab.

    Three table lookups replace kornia's per-pixel float gamma and matrix over all channels:
    on full-resolution photos that is most of prediction time on a CPU.
    """
    y = _LUMINANCE_TABLES[0][rgb8[..., 0]] + _LUMINANCE_TABLES[1][rgb8[..., 1]] + _LUMINANCE_TABLES[2][rgb8[..., 2]]
    f = np.where(y > 0.008856, np.cbrt(np.maximum(y, 0.008856)), 7.787 * y + 4 / 29)
    return torch.from_numpy((116 * f - 16).astype(np.float32))[None, None]


def model_input(L_full: torch.Tensor, image_size: int) -> torch.Tensor:
    """The model's input for one image: L/100 [1,1,H,W] resized to [1,1,S,S] with antialiasing."""
    return F.interpolate(L_full / L_SCALE, size=(image_size, image_size), mode="bilinear", antialias=True)


def full_resolution_rgb(L_full: torch.Tensor, ab_small: torch.Tensor) -> torch.Tensor:
    """Upsample predicted ab [1,2,S,S] bilinearly to L's size, join with the ORIGINAL L [1,1,H,W]
    and convert to RGB [1,3,H,W]. The eye forgives low-resolution chroma, not blurred luminance."""
    ab = F.interpolate(ab_small * AB_SCALE, size=L_full.shape[-2:], mode="bilinear", align_corners=False)
    return gamut_map(L_full, ab)
