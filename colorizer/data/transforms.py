"""Batch transforms on the device: uint8 RGB to normalised Lab, random flips, half-size images."""

import torch
import torch.nn.functional as F
from kornia.augmentation import RandomHorizontalFlip, RandomResizedCrop

from colorizer.color import rgb_to_normalized_lab

# Kornia's batch flip draws per image from torch's global RNG, which checkpoints restore: a resumed
# run flips exactly as the uninterrupted one.
_random_flip = RandomHorizontalFlip(p=0.5)


def lab_batch(images: torch.Tensor, flip: bool = False, crop_scale: float = 1.0) -> dict[str, torch.Tensor]:
    """uint8 (or float 0-255) RGB [B,3,H,W] -> {"L": [B,1,H,W], "ab": [B,2,H,W]}, optionally flipping half
    the images left-right at random and, with `crop_scale` < 1, taking from each a random crop of
    `crop_scale` to all of its area (aspect 3:4 to 4:3) resized back to [H,W] (on the images' device)."""
    rgb = images.float() / 255.0
    if crop_scale < 1:
        rgb = RandomResizedCrop(tuple(rgb.shape[-2:]), scale=(crop_scale, 1.0), p=1.0)(rgb)
    if flip:
        rgb = _random_flip(rgb)
    L, ab = rgb_to_normalized_lab(rgb)
    return {"L": L, "ab": ab}


def half_size(images: torch.Tensor) -> torch.Tensor:
    """RGB [B,3,H,W] (uint8 or float 0-255) -> float [B,3,H/2,W/2]: each output pixel is the mean
    of a 2x2 block, the exact antialiased half-size image."""
    return F.avg_pool2d(images.float(), 2)
