"""How much colour flickers: the temporal warp error of ab between consecutive frames (Lai et al.
2018), the previous frame's ab moved onto the current by flow computed on the TRUE frames' lightness,
counted where that flow is reliable (forward-backward consistent).

A colorizer keeps each frame's own L, so the true lightness, the flow and the mask are the same for
the truth and for every colouring of the film: one `FlickerMeter` scores them side by side.
"""

from collections import defaultdict

import numpy as np

from colorizer.video.flow import FlowEstimator, warp


class FlickerMeter:
    """Feed it frames in order with `update`; `mean()` is each colouring's mean warp error in Lab ab
    units (ΔE of chroma between a pixel and where it came from in the frame before)."""

    def __init__(self) -> None:
        self.flows = FlowEstimator()
        self.previous: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
        self.sums: dict[str, float] = defaultdict(float)
        self.pairs = 0

    def update(self, lightness: np.ndarray, ab_by_name: dict[str, np.ndarray]) -> None:
        """`lightness`: the true frame's 8-bit L [H,W] uint8; `ab_by_name`: each colouring's ab
        [H,W,2] float32 in Lab units (the truth's among them, if it is to be reported)."""
        if self.previous is not None:
            previous_lightness, previous_ab = self.previous
            backward, reliable = self.flows.backward_flow_and_mask(previous_lightness, lightness)
            if reliable.any():
                self.pairs += 1
                for name, ab in ab_by_name.items():
                    moved = warp(previous_ab[name], backward)
                    self.sums[name] += float(np.linalg.norm(ab - moved, axis=2)[reliable].mean())
        self.previous = (lightness, ab_by_name)

    def reset(self) -> None:
        """A new clip: the next frame has no frame before it."""
        self.previous = None

    def mean(self) -> dict[str, float]:
        return {name: total / self.pairs for name, total in self.sums.items()} if self.pairs else {}
