"""A person's hints on a film: points given on one frame, carried along to the next frames by the
optical flow on L that the stabiliser uses, dropped at a scene cut or where they leave the picture.

In the hints file a video's points are photo points (`colorizer.inference.hint_points`) with one
more key, "frame": the output frame they are given on (0, the default, is the first one written).
A point then holds its colour on whatever it was put on, however that moves, until the scene ends.
"""

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from colorizer.data.hints import hint_channels
from colorizer.inference.hint_points import HintError, patch_box, point_ab, point_centre
from colorizer.video.flow import FlowEstimator
from colorizer.video.stabilize import CUT_THRESHOLD, histogram_change


@dataclass
class TrackedPoint:
    """A point at (x, y) in the network's [S,S] input, with its colour as normalised ab [2]."""

    x: float
    y: float
    ab: torch.Tensor


def frame_of(point: Any) -> int:
    """The frame a point is given on: its "frame" (a whole number from 0), 0 without one."""
    frame = point.get("frame", 0) if isinstance(point, dict) else 0
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise HintError(f"frame={frame!r} is not a frame number (0 is the first frame written)")
    return frame


class HintTracker:
    """The hint channels of each frame of one film, in order: `points` (the hints file's list for
    it, in the frames' own pixels) placed on their frames and carried by the flow between
    consecutive frames' lightness at the network's size; a histogram change above `cut_threshold`
    (a new scene) drops every carried point. Raises HintError naming a bad point by its place in
    the list (from 1) when its frame comes."""

    def __init__(
        self, points: list[dict[str, Any]], model_size: int, side: int = 3, cut_threshold: float = CUT_THRESHOLD
    ) -> None:
        self.model_size, self.side, self.cut_threshold = model_size, side, cut_threshold
        self.pending: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for number, point in enumerate(points, start=1):
            try:
                self.pending.setdefault(frame_of(point), []).append((number, point))
            except HintError as error:
                raise HintError(f"point {number} {json.dumps(point)}: {error}") from None
        self.carried: list[TrackedPoint] = []
        self.previous: np.ndarray | None = None
        self.frame = 0
        self.flows = FlowEstimator() if points else None

    def __call__(self, lightness_small: np.ndarray, frame_size: tuple[int, int]) -> torch.Tensor | None:
        """Hint channels [1,3,S,S] for the next frame from its 8-bit lightness at the network's
        size [S,S] and its own (width, height); None when no point is on it."""
        if self.flows is None:
            return None
        if self.previous is not None and self.carried:
            if histogram_change(self.previous, lightness_small) > self.cut_threshold:
                self.carried = []
            else:
                self._move(self.flows.flow(self.previous, lightness_small))
        for number, point in self.pending.pop(self.frame, []):
            try:
                x, y = point_centre(point, frame_size, self.model_size)
                self.carried.append(TrackedPoint(float(x), float(y), point_ab(point)))
            except HintError as error:
                raise HintError(f"point {number} {json.dumps(point)} (frame {self.frame}): {error}") from None
        self.previous, self.frame = lightness_small, self.frame + 1
        if not self.carried:
            return None
        boxes = [patch_box(round(point.x), round(point.y), self.model_size, self.side) for point in self.carried]
        return hint_channels(
            (1, self.model_size, self.model_size), [boxes], [torch.stack([p.ab for p in self.carried])]
        )

    def unused_frames(self) -> list[int]:
        """The frames points were given on that have not come (past the end of what was coloured)."""
        return sorted(self.pending)

    def _move(self, flow: np.ndarray) -> None:
        """Each carried point moved by the forward flow [S,S,2] at its pixel; those that leave go."""
        moved = []
        for point in self.carried:
            dx, dy = flow[int(round(point.y)), int(round(point.x))]
            x, y = point.x + float(dx), point.y + float(dy)
            if 0 <= round(x) < self.model_size and 0 <= round(y) < self.model_size:
                moved.append(TrackedPoint(x, y, point.ab))
        self.carried = moved
