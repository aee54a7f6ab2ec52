"""Statistics of a set of uint8 training images that models keep: the mean ab (the `mean_ab`
baseline) and the distribution over ab bins (the classification head's rebalancing prior)."""

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from colorizer.atomic import atomic_write
from colorizer.color import AB_SCALE, rgb_to_normalized_lab
from colorizer.color.bins import bin_histograms, smoothed_prior

log = logging.getLogger(__name__)


def normalized_ab(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB [B,3,H,W] -> normalised ab [B,2,H,W]."""
    return rgb_to_normalized_lab(images.float() / 255.0)[1]


def mean_normalized_ab(images: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Mean normalised ab [2] of uint8 RGB images [N,3,S,S], converted `chunk` at a time."""
    total = torch.zeros(2, dtype=torch.float64)
    for start in range(0, len(images), chunk):
        total += normalized_ab(images[start : start + chunk]).double().sum(dim=(0, 2, 3))
    return (total / (len(images) * images.shape[-2] * images.shape[-1])).float()


def ab_bin_prior(images: torch.Tensor, centres: torch.Tensor, sigma: float = 5.0, chunk: int = 128) -> torch.Tensor:
    """The distribution [Q] of the pixels of uint8 RGB images [N,3,S,S] over the ab bins with
    `centres` [Q,2] (each pixel in its nearest bin), smoothed with a Gaussian of `sigma` (Lab units)."""
    counts = torch.zeros(len(centres), dtype=torch.float64, device=centres.device)
    for start in range(0, len(images), chunk):
        ab = normalized_ab(images[start : start + chunk].to(centres.device)) * AB_SCALE
        counts += bin_histograms(ab, centres).double().sum(dim=0)
    return smoothed_prior(counts, centres, sigma)


def content_digest(*parts: torch.Tensor | str) -> str:
    """A short hash of tensors and strings: the name of a statistic computed from exactly them."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.cpu().numpy().tobytes() if isinstance(part, torch.Tensor) else part.encode())
    return digest.hexdigest()[:16]


def cached_tensor(path: Path | None, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """The tensor stored at `path`, or `compute()` stored there (atomically) for next time. No
    caching without a path; a folder that cannot be written only costs the recomputation."""
    if path is not None and path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)
    value = compute()
    if path is not None:
        store_tensor(path, value)
    return value


def store_tensor(path: Path, value: torch.Tensor) -> None:
    """Save `value` at `path` whole or not at all; a folder that cannot be written only costs
    recomputing it next time (a warning says so)."""
    try:
        atomic_write(path, lambda handle: torch.save(value.cpu(), handle))
    except OSError as error:
        log.warning("Could not store %s (%s); it is recomputed next time.", path, error)
