"""User-guided hints (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned
Deep Priors"): a few square patches whose ab a person gives, as 3 channels beside L.

The hint channels are [B,3,H,W]: the hint ab (normalised, 0 outside the patches) and the mask
(1 inside a patch, 0 elsewhere). Training simulates them from the true ab, as the paper did:
the number of points per image geometric (p = 1/8: often none, sometimes many), each a square
of side 1 to `max_side` pixels at a random position, coloured with the mean true ab over it.
"""

import math
import zlib

import torch

# A box is (top, left, side) in pixels of the model's input.
Box = tuple[int, int, int]

PLACEMENTS = ("uniform", "gaussian")


def hint_channels(shape: tuple[int, int, int], boxes: list[list[Box]], colours: list[torch.Tensor]) -> torch.Tensor:
    """Hint channels [B,3,H,W] for `shape` (B, H, W): image b gets `boxes[b]` painted with
    `colours[b]` [n_b,2] (normalised ab), later boxes over earlier ones."""
    batch, height, width = shape
    device = colours[0].device if colours else None
    hints = torch.zeros(batch, 3, height, width, device=device)
    for index, (image_boxes, image_colours) in enumerate(zip(boxes, colours, strict=True)):
        for (top, left, side), colour in zip(image_boxes, image_colours, strict=True):
            hints[index, :2, top : top + side, left : left + side] = colour.view(2, 1, 1)
            hints[index, 2, top : top + side, left : left + side] = 1.0
    return hints


def box_means(ab: torch.Tensor, boxes: list[Box]) -> torch.Tensor:
    """The mean of `ab` [2,H,W] over each box: [n,2]."""
    if not boxes:
        return ab.new_zeros(0, 2)
    return torch.stack([ab[:, top : top + side, left : left + side].mean(dim=(1, 2)) for top, left, side in boxes])


def sample_boxes(
    count: int,
    height: int,
    width: int,
    max_side: int = 9,
    placement: str = "uniform",
    generator: torch.Generator | None = None,
) -> list[Box]:
    """`count` random boxes inside an image of [H,W]: sides uniform in 1..`max_side` (at most the
    image's), positions uniform, or (`gaussian`) centred on the image with a quarter of its size as
    standard deviation. Drawn on the CPU from `generator` (None: torch's global RNG, which
    checkpoints restore, so a resumed run draws what the uninterrupted one drew)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"hint_simulator.placement={placement!r} is not one of {', '.join(PLACEMENTS)}.")
    limit = max(1, min(max_side, height, width))
    boxes = []
    for _ in range(count):  # point by point, so the first n of 2n boxes are the n boxes
        side = int(torch.randint(1, limit + 1, (1,), generator=generator))
        if placement == "uniform":
            u, v = torch.rand(2, generator=generator).tolist()
        else:
            u, v = (0.5 + 0.25 * torch.randn(2, generator=generator)).clamp(0.0, 1.0 - 1e-6).tolist()
        boxes.append((int(u * (height - side + 1)), int(v * (width - side + 1)), side))
    return boxes


def geometric_counts(batch: int, p: float, max_points: int, generator: torch.Generator | None = None) -> list[int]:
    """`batch` draws from the geometric distribution on 0, 1, 2, ... with success probability `p`
    (mean (1 - p) / p), capped at `max_points`."""
    if not 0 < p <= 1:
        raise ValueError(f"hint_simulator.p={p} must be in (0, 1].")
    if p == 1:
        return [0] * batch
    uniform = torch.rand(batch, generator=generator).clamp_min(1e-12)
    return [min(max_points, int(math.floor(math.log(u) / math.log1p(-p)))) for u in uniform.tolist()]


class HintSimulator:
    """Hints drawn from the true ab of a training batch (see the module docstring)."""

    def __init__(self, p: float = 0.125, max_side: int = 9, placement: str = "gaussian", max_points: int = 64) -> None:
        geometric_counts(0, p, max_points)
        sample_boxes(0, 1, 1, max_side, placement)
        self.p, self.max_side, self.placement, self.max_points = p, max_side, placement, max_points

    def __call__(self, ab: torch.Tensor) -> torch.Tensor:
        """True ab [B,2,H,W] -> hint channels [B,3,H,W]."""
        batch, _, height, width = ab.shape
        counts = geometric_counts(batch, self.p, self.max_points)
        boxes = [sample_boxes(n, height, width, self.max_side, self.placement) for n in counts]
        colours = [box_means(image_ab.float(), image_boxes) for image_ab, image_boxes in zip(ab, boxes, strict=True)]
        return hint_channels((batch, height, width), boxes, colours).to(ab.dtype)


def fixed_hints(
    ab: torch.Tensor, names: list[str], count: int, seed: int = 0, max_side: int = 9, placement: str = "uniform"
) -> torch.Tensor:
    """Hint channels [B,3,H,W] with `count` points per image from the true ab [B,2,H,W], drawn from
    a generator seeded by (`seed`, the image's name): every checkpoint scored on an image meets
    the same points, and the first n of 2n points are the n points."""
    batch, _, height, width = ab.shape
    boxes, colours = [], []
    for image_ab, name in zip(ab, names, strict=True):
        generator = torch.Generator().manual_seed(zlib.crc32(f"{seed}/{name}".encode()))
        image_boxes = sample_boxes(count, height, width, max_side, placement, generator)
        boxes.append(image_boxes)
        colours.append(box_means(image_ab.float(), image_boxes))
    return hint_channels((batch, height, width), boxes, colours).to(ab.dtype)
