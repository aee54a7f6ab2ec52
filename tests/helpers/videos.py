"""Test clips with known colour, generated from a photo (never committed as video): a camera pan,
a zoom, and a cut between two photos; written with PyAV, with a tone as audio if asked."""

from collections.abc import Iterable, Iterator
from fractions import Fraction
from itertools import chain
from pathlib import Path

import av
import numpy as np
from PIL import Image

AUDIO_RATE = 16_000


def pan(photo: np.ndarray, size: tuple[int, int], frames: int, step: float = 2.0) -> Iterator[np.ndarray]:
    """[h,w,3] uint8 crops of `size` (w, h) sliding right by `step` pixels a frame (then back)."""
    width, height = size
    span = photo.shape[1] - width - 1  # one column to spare for the sub-pixel blend
    if span <= 0 or photo.shape[0] < height:
        raise ValueError(f"pan: the photo {photo.shape[1]}x{photo.shape[0]} is not larger than {width}x{height}")
    top = (photo.shape[0] - height) // 2
    for index in range(frames):
        x = index * step % (2 * span)
        x = x if x <= span else 2 * span - x
        left = int(x)
        crop = photo[top : top + height, left : left + width + 1].astype(np.float32)
        fraction = x - left  # sub-pixel motion, as a real camera moves
        yield (crop[:, :width] * (1 - fraction) + crop[:, 1 : width + 1] * fraction).round().astype(np.uint8)


def zoom(photo: np.ndarray, size: tuple[int, int], frames: int, factor: float = 1.5) -> Iterator[np.ndarray]:
    """Frames of `size` (w, h) zooming into the photo's centre from the whole photo to 1/`factor` of it."""
    image = Image.fromarray(photo)
    width, height = image.size
    for index in range(frames):
        scale = 1 + (factor - 1) * index / max(frames - 1, 1)
        box_w, box_h = width / scale, height / scale
        box = ((width - box_w) / 2, (height - box_h) / 2, (width + box_w) / 2, (height + box_h) / 2)
        yield np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=box))


def cut(first: Iterable[np.ndarray], second: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """One clip, then another: a scene cut between them."""
    yield from first
    yield from second


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    rate: int = 25,
    audio: bool = False,
    codec: str = "libx264",
    title: str | None = None,
) -> Path:
    """Write RGB frames [h,w,3] uint8 as a video (near-lossless H.264, crf 1), streamed, with a
    440 Hz AAC tone as long as the frames if `audio`, and `title` in the container's metadata."""
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w") as output:
        if title is not None:
            output.metadata["title"] = title
        stream = output.add_stream(codec, rate=Fraction(rate))
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p" if first.shape[0] % 2 == 0 and first.shape[1] % 2 == 0 else "yuv444p"
        if codec == "libx264":
            stream.options = {"crf": "1"}
        sound = output.add_stream("aac", rate=AUDIO_RATE) if audio else None
        if sound is not None:
            sound.layout = "mono"
        samples = 0
        for count, rgb in enumerate(chain([first], frames)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = count
            output.mux(stream.encode(frame))
            while sound is not None and samples < (count + 1) * AUDIO_RATE / rate:
                tone = 0.3 * np.sin(2 * np.pi * 440 * (samples + np.arange(1024)) / AUDIO_RATE)
                chunk = av.AudioFrame.from_ndarray(tone[None].astype(np.float32), format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = AUDIO_RATE, samples
                output.mux(sound.encode(chunk))
                samples += 1024
        output.mux(stream.encode(None))
        if sound is not None:
            output.mux(sound.encode(None))
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video as RGB [h,w,3] uint8 (short clips only: all in memory)."""
    with av.open(str(path)) as video:
        return [frame.to_ndarray(format="rgb24") for frame in video.decode(video=0)]


def packets_of(path: Path, kind: str) -> list[bytes]:
    """The raw packets of the first `kind` ('audio', 'video') stream, in order."""
    with av.open(str(path)) as video:
        stream = next(s for s in video.streams if s.type == kind)
        return [bytes(packet) for packet in video.demux(stream) if packet.size]
