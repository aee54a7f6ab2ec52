"""Films through a trained colorizer: frames streamed from and to a video file with PyAV
(`colorize`, `files`), their colour kept steady over time by optical flow (`flow`, `stabilize`),
and the flicker measured (`flicker`). `colorizer.predict` colours a video given as input=.

This module itself imports neither PyAV nor OpenCV (the video extra), so that predict can list
videos among photos without them.
"""

from pathlib import Path

# Container formats by extension: what FFmpeg calls the muxer a written file needs.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}
VIDEO_EXTENSIONS = tuple(CONTAINERS)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in CONTAINERS
