"""Dense optical flow on lightness and warping by it (OpenCV's DIS flow, on the CPU).

DIS (Kroeger et al. 2016) is OpenCV's fastest dense flow that still follows pans and zooms of tens
of pixels; written by hand it would be slower and less tested. Flow is computed on 8-bit L, the
one channel that is true in every frame (the input of a colorizer).
"""

import cv2
import numpy as np

# Forward and backward flow that disagree by more than this many pixels (plus a share of the motion)
# mark a pixel as occluded or mismatched (Sundaram et al. 2010's consistency check).
CONSISTENCY_PIXELS = 1.0
CONSISTENCY_SHARE = 0.05


class FlowEstimator:
    """Flow between two 8-bit lightness images [H,W] uint8 of the same size (one instance per thread:
    OpenCV's DIS object keeps buffers)."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> None:
        self.dis = cv2.DISOpticalFlow_create(preset)

    def flow(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """[H,W,2] float32: for each pixel x of `source`, where it is in `target` is x + flow[x]."""
        return self.dis.calc(_contiguous_u8(source), _contiguous_u8(target), None)

    def backward_flow_and_mask(self, previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flow from `current` to `previous` [H,W,2], where it is reliable [H,W] bool): a pixel of
        the current frame is reliable when the forward flow brings its match back to it."""
        backward = self.flow(current, previous)
        forward = self.flow(previous, current)
        round_trip = backward + warp(forward, backward)
        motion = np.linalg.norm(backward, axis=2)
        reliable = np.linalg.norm(round_trip, axis=2) <= CONSISTENCY_PIXELS + CONSISTENCY_SHARE * motion
        return backward, reliable


def _contiguous_u8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"flow takes 8-bit lightness [H,W] uint8, got {image.dtype} of shape {image.shape}")
    return np.ascontiguousarray(image)


def warp(image: np.ndarray, backward_flow: np.ndarray) -> np.ndarray:
    """`image` of the previous frame ([H,W] or [H,W,C] float32) moved onto the current one by the
    flow from the current frame to the previous [H,W,2]: out[x] = image[x + flow[x]] (bilinear,
    borders replicated)."""
    height, width = backward_flow.shape[:2]
    if image.shape[:2] != (height, width):
        raise ValueError(f"warp: image {image.shape[:2]} and flow {backward_flow.shape[:2]} differ in size")
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + backward_flow[..., 0], grid_y + backward_flow[..., 1]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
