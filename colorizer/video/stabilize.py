"""Colour that stays put: each frame's predicted ab blended with the previous output carried along
by optical flow, where the flow can be trusted.

A simple online form of blind temporal consistency (Bonneel et al. 2015, "Blind video temporal
consistency"; Lai et al. 2018, "Learning blind video temporal consistency", whose warp error
`colorizer.video.flicker` measures): out_t = c * warp(out_{t-1}) + (1 - c) * pred_t, with the
confidence c = strength where the forward and backward flow agree and the warped lightness matches
the current one, falling to 0 where they do not (occlusions, new objects: the new prediction), and
a reset at scene cuts, found by how much the lightness histogram changes. It runs at the network's
size, where the prediction is made; full-resolution colour is upsampled from its result.
"""

import numpy as np

from colorizer.video.flow import FlowEstimator, warp

HISTOGRAM_BINS = 32
# The histogram change from which a frame starts a new scene (the stabiliser and the hint points reset there).
CUT_THRESHOLD = 0.3


def histogram_change(previous: np.ndarray, current: np.ndarray) -> float:
    """Total variation distance (0: the same, 1: disjoint) between two 8-bit lightness histograms."""
    bins = np.arange(HISTOGRAM_BINS + 1) * (256 / HISTOGRAM_BINS)
    first, _ = np.histogram(previous, bins)
    second, _ = np.histogram(current, bins)
    return 0.5 * float(np.abs(first / previous.size - second / current.size).sum())


class TemporalStabilizer:
    """Steadies a stream of predictions, one frame at a time, in order.

    `strength` (0..1) is the weight of the carried colour where the flow is trusted (0 changes
    nothing; 0.9 averages about the last ten frames); `lightness_sigma` (8-bit levels) how fast
    the trust falls where the warped lightness differs from the frame's; `cut_threshold` the
    histogram change (`histogram_change`) from which a frame starts a new scene.
    """

    def __init__(
        self, strength: float = 0.9, lightness_sigma: float = 16.0, cut_threshold: float = CUT_THRESHOLD
    ) -> None:
        if not 0 <= strength < 1:
            raise ValueError(f"video.strength={strength} must be in [0, 1): the weight of the carried colour.")
        self.strength, self.lightness_sigma, self.cut_threshold = strength, lightness_sigma, cut_threshold
        self.flows = FlowEstimator()
        self.previous: tuple[np.ndarray, np.ndarray] | None = None
        self.cuts = 0

    def __call__(self, lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """The steadied ab [H,W,2] float32 for this frame's 8-bit lightness [H,W] and predicted ab
        [H,W,2] (any units; the output has the same)."""
        if self.previous is None or lightness.shape != self.previous[0].shape:
            steadied = ab
        elif histogram_change(self.previous[0], lightness) > self.cut_threshold:
            self.cuts += 1
            steadied = ab
        else:
            previous_lightness, previous_ab = self.previous
            backward, reliable = self.flows.backward_flow_and_mask(previous_lightness, lightness)
            mismatch = warp(previous_lightness.astype(np.float32), backward) - lightness
            confidence = self.strength * reliable * np.exp(-0.5 * (mismatch / self.lightness_sigma) ** 2)
            confidence = confidence.astype(np.float32)[..., None]
            steadied = confidence * warp(previous_ab, backward) + (1 - confidence) * ab
        self.previous = (lightness, np.ascontiguousarray(steadied, dtype=np.float32))
        return self.previous[1]
