"""Batch transforms on the device: uint8 RGB to normalised Lab, random crops and flips, resizing."""

import torch
import torch.nn.functional as F
from kornia.augmentation import RandomHorizontalFlip, RandomResizedCrop

from colorizer.color import rgb_to_normalized_lab

# Kornia's batch flip draws per image from torch's global RNG, which checkpoints restore: a resumed
# run flips exactly as the uninterrupted one.
_random_flip = RandomHorizontalFlip(p=0.5)


def lab_batch(
    images: torch.Tensor, flip: bool = False, crop_scale: float = 1.0, size: int | None = None
) -> dict[str, torch.Tensor]:
    """uint8 (or float 0-255) RGB [B,3,S,S] -> {"L": [B,1,H,W], "ab": [B,2,H,W]} with H = W = `size`
    (None: S), optionally flipping half the images left-right at random and, with `crop_scale` < 1,
    taking from each a random crop of `crop_scale` to all of its area (aspect 3:4 to 4:3), all on
    the images' device. A crop is cut at S, then shrunk to `size` like a whole image (`resize_to`),
    so crops from a larger source keep their detail."""
    rgb = images.float() / 255.0
    if crop_scale < 1:
        rgb = RandomResizedCrop(tuple(rgb.shape[-2:]), scale=(crop_scale, 1.0), p=1.0)(rgb)
    rgb = resize_to(rgb, size or rgb.shape[-1])
    if flip:
        rgb = _random_flip(rgb)
    L, ab = rgb_to_normalized_lab(rgb)
    return {"L": L, "ab": ab}


def resize_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """Square RGB [B,3,S,S] (uint8 or float) -> float [B,3,size,size], antialiased: where S is a
    multiple of `size` each output pixel is the mean of its block (exact), else bilinear with
    antialiasing (a smaller `size`) or plain bilinear (a larger one). Unchanged when S == size."""
    side = images.shape[-1]
    if side == size:
        return images.float()
    if side % size == 0:
        return F.avg_pool2d(images.float(), side // size)
    return F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=side > size, align_corners=False)
