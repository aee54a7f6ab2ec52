"""Colour as classes: the quantised ab bins of Zhang et al. (ECCV 2016), the soft-encoded
target, the class-rebalancing prior and the annealed-mean decoding.

ab values here are in Lab units (not divided by 110). Every function is batched and keeps no
state: the bin centres [Q,2] and the prior [Q] are passed in (a classification head holds them
as buffers, so they travel in its checkpoint).
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from kornia.color import lab_to_rgb

from colorizer.color.checks import check_shape
from colorizer.color.lab import AB_SCALE


@dataclass
class AbClasses:
    """A classification head's view of its prediction: logits [B,Q,H,W] over the ab bins with
    centres [Q,2] (Lab units) and the training set's bin prior [Q]."""

    logits: torch.Tensor
    centres: torch.Tensor
    prior: torch.Tensor


@lru_cache(maxsize=8)
def _bin_centres(step: float, lightness_levels: int, cell_samples: int) -> torch.Tensor:
    grid = torch.arange(-AB_SCALE, AB_SCALE + step / 2, step, dtype=torch.float64).float()
    a, b = torch.meshgrid(grid, grid, indexing="ij")
    centres = torch.stack([a.flatten(), b.flatten()], dim=1)  # [G,2]
    offsets = torch.linspace(-step / 2, step / 2, cell_samples)
    offset_a, offset_b = torch.meshgrid(offsets, offsets, indexing="ij")
    samples = centres[:, None] + torch.stack([offset_a.flatten(), offset_b.flatten()], dim=1)[None]
    points = samples.reshape(-1, 2).T  # [2,G*S]
    lightness = torch.linspace(0.0, 100.0, lightness_levels)
    count = points.shape[1]
    lab = torch.cat(
        [
            lightness.view(1, 1, -1, 1).expand(1, 1, lightness_levels, count),
            points.view(1, 2, 1, count).expand(1, 2, lightness_levels, count),
        ],
        dim=1,
    )
    rgb = lab_to_rgb(lab, clip=False)
    in_gamut = ((rgb >= 0) & (rgb <= 1)).all(dim=1).any(dim=1)[0]  # [G*S]: in gamut at some L
    return centres[in_gamut.view(len(centres), -1).any(dim=1)]


def ab_bin_centres(step: float = 10.0, lightness_levels: int = 201, cell_samples: int = 5) -> torch.Tensor:
    """Centres [Q,2] (a, b in Lab units) of the ab grid cells of side `step` that hold an sRGB
    colour for some lightness.

    A cell counts when any of `cell_samples`² points in it is in gamut at any of
    `lightness_levels` values of L, so every displayable ab value has its own cell. Step 10 gives
    Q = 262 with kornia's Lab (Zhang et al. report 313 with their gamut test).
    """
    if step <= 0:
        raise ValueError(f"The ab bin step must be positive, got {step}.")
    return _bin_centres(float(step), lightness_levels, cell_samples).clone()


@dataclass(frozen=True)
class BinGrid:
    """Where the bins sit on their regular grid, so that a pixel's nearest bins are found among a
    few grid cells around it instead of among all Q (ten times cheaper per training step).

    origin [2] and step: grid point (i, j) is at origin + step·(i, j); `bin_index` [Ga,Gb]: the
    bin at each grid point or -1; `nearest` [Ga,Gb]: the nearest bin to each grid point."""

    origin: torch.Tensor
    step: float
    bin_index: torch.Tensor
    nearest: torch.Tensor

    @classmethod
    def of(cls, centres: torch.Tensor) -> "BinGrid":
        check_shape(centres, "Q,2", "centres", "BinGrid.of")
        values = torch.unique(centres)
        step = float(values.diff().min())
        origin = centres.min(dim=0).values
        cells = ((centres - origin) / step).round().long()  # [Q,2]
        size = (cells.max(dim=0).values + 1).tolist()
        bin_index = torch.full(size, -1, dtype=torch.long, device=centres.device)
        bin_index[cells[:, 0], cells[:, 1]] = torch.arange(len(centres), device=centres.device)
        grid_a, grid_b = torch.meshgrid(*(torch.arange(n, device=centres.device) for n in size), indexing="ij")
        points = origin + step * torch.stack([grid_a, grid_b], dim=-1).reshape(-1, 2).float()
        nearest = torch.cdist(points, centres).argmin(dim=1).view(size)
        return cls(origin=origin, step=step, bin_index=bin_index, nearest=nearest)

    def cell(self, ab: torch.Tensor) -> torch.Tensor:
        """The grid point nearest to each pixel, as integer (i, j): [B,2,H,W] -> long [B,2,H,W]."""
        return ((ab.float() - self.origin.view(1, 2, 1, 1)) / self.step).round().long()


def soft_encode(
    ab: torch.Tensor, centres: torch.Tensor, neighbours: int = 5, sigma: float = 5.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The soft-encoded target of Zhang et al.: each pixel's mass spread over its `neighbours`
    nearest bins with Gaussian weights (`sigma` in Lab units).

    The candidates are the bins within a window of grid cells around the pixel, wide enough to
    hold its `neighbours` nearest grid points (5 x 5 cells for 5 neighbours); at the edge of the
    gamut, where the window holds fewer bins than that, the missing ones get weight 0.

    Args:
        ab: [B,2,H,W] true ab in Lab units. centres: [Q,2].

    Returns:
        (indices, weights), both [B,K,H,W]: bin indices, nearest first, and weights summing to 1.
    """
    check_shape(ab, "B,2,H,W", "ab", "soft_encode")
    grid = BinGrid.of(centres)
    inner = math.ceil((math.sqrt(neighbours) - 1) / 2)  # the square of grid points holding K of them
    radius = max(1, math.ceil(math.sqrt(2) * (inner + 0.5) - 0.5))
    offsets = torch.arange(-radius, radius + 1, device=ab.device)
    offset_a, offset_b = torch.meshgrid(offsets, offsets, indexing="ij")
    cell = grid.cell(ab)
    cand_a = cell[:, :1] + offset_a.reshape(1, -1, 1, 1)  # [B,C,H,W]
    cand_b = cell[:, 1:] + offset_b.reshape(1, -1, 1, 1)
    size_a, size_b = grid.bin_index.shape
    inside = (cand_a >= 0) & (cand_a < size_a) & (cand_b >= 0) & (cand_b < size_b)
    bins = grid.bin_index[cand_a.clamp(0, size_a - 1), cand_b.clamp(0, size_b - 1)].masked_fill(~inside, -1)
    point_a = grid.origin[0] + grid.step * cand_a.float()
    point_b = grid.origin[1] + grid.step * cand_b.float()
    distances = (point_a - ab[:, :1].float()).pow(2) + (point_b - ab[:, 1:].float()).pow(2)
    distances = distances.masked_fill(bins < 0, math.inf)
    nearest_distances, picked = distances.topk(neighbours, dim=1, largest=False)
    weights = torch.softmax(-nearest_distances / (2 * sigma**2), dim=1)
    indices = bins.gather(1, picked).clamp_min(0)  # a missing bin (weight 0) points at bin 0
    return indices, weights


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """Decode per-pixel bin logits [B,Q,H,W] to ab [B,2,H,W] (Lab units).

    The distribution is sharpened to softmax(logits / T) before taking its mean: T = 1 is the
    plain mean (right on average, desaturated), T -> 0 the mode (vivid, patchy); T = 0 is the
    argmax bin exactly.
    """
    check_shape(centres, "Q,2", "centres", "annealed_mean")
    check_shape(logits, f"B,{len(centres)},H,W", "logits", "annealed_mean")
    if temperature < 0:
        raise ValueError(f"The decoding temperature must be >= 0, got {temperature}.")
    # Bins last ([B,H,W,Q]): a plain view of the channels-last logits the nets produce, where a
    # softmax over dim 1 would first copy them to channels-first.
    pixels = logits.permute(0, 2, 3, 1)
    if temperature == 0:
        return centres[pixels.argmax(dim=-1)].permute(0, 3, 1, 2)
    probabilities = torch.softmax(pixels.float() / temperature, dim=-1)
    return (probabilities @ centres).permute(0, 3, 1, 2)


def nearest_bin(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Index of the bin of each pixel: [B,2,H,W] (Lab units) -> [B,H,W]. Exact for displayable
    colours (their grid cell is a bin); a value outside the bins' cells gets the bin nearest to
    its cell's grid point."""
    check_shape(ab, "B,2,H,W", "ab", "nearest_bin")
    grid = BinGrid.of(centres)
    cell = grid.cell(ab)
    size_a, size_b = grid.nearest.shape
    return grid.nearest[cell[:, 0].clamp(0, size_a - 1), cell[:, 1].clamp(0, size_b - 1)]


def bin_histograms(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Per-image counts of pixels in each nearest bin: [B,2,H,W] -> [B,Q]."""
    bins = nearest_bin(ab, centres).flatten(1)
    counts = torch.zeros(ab.shape[0], len(centres), device=ab.device)
    return counts.scatter_add_(1, bins, torch.ones_like(bins, dtype=counts.dtype))


def smoothed_prior(counts: torch.Tensor, centres: torch.Tensor, sigma: float = 5.0) -> torch.Tensor:
    """The empirical bin distribution [Q] from pixel counts [Q], smoothed over ab with a Gaussian
    of `sigma` (Lab units) that keeps its total mass."""
    distances = torch.cdist(centres.double(), centres.double()).pow(2)
    kernel = torch.exp(-distances / (2 * sigma**2))
    kernel = kernel / kernel.sum(dim=0, keepdim=True)  # each source bin hands out all its mass
    smoothed = kernel @ counts.double()
    return (smoothed / smoothed.sum()).float()


def rebalancing_weights(prior: torch.Tensor, uniform_mix: float = 0.5) -> torch.Tensor:
    """Class weights [Q] ∝ 1 / ((1 - λ)·prior + λ/Q), normalised so that Σ prior·w = 1.

    Rare colours weigh more, so the loss stops paying for painting everything the common brown;
    λ = `uniform_mix` = 1 turns rebalancing off (all weights 1).
    """
    if not 0.0 <= uniform_mix <= 1.0:
        raise ValueError(f"uniform_mix (λ) must be in [0, 1], got {uniform_mix}.")
    mixed = (1 - uniform_mix) * prior + uniform_mix / len(prior)
    weights = 1.0 / mixed
    return weights / (prior * weights).sum()


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence in bits of distributions along the last dim: [...,Q] x2 -> [...].
    0 for identical distributions, 1 for disjoint ones; defined when bins are empty."""
    p = p / p.sum(dim=-1, keepdim=True)
    q = q / q.sum(dim=-1, keepdim=True)
    middle = (p + q) / 2

    def kl_to_middle(x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > 0, x * (x / middle.clamp_min(1e-12)).log2(), torch.zeros_like(x)).sum(dim=-1)

    return (kl_to_middle(p) + kl_to_middle(q)) / 2
