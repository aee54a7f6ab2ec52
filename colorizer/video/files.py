"""Video files: the options, the input's frames within the asked window and their declared count,
the output's encoder, and the streams copied as they are."""

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from colorizer.config import ConfigError
from colorizer.errors import UserError


class VideoDecodeError(UserError, ValueError):
    """A video that cannot be opened or has no video stream."""


@dataclass
class VideoOptions:
    """`video.*` of predict's config (conf/predict.yaml says what each does)."""

    codec: str = "auto"
    crf: int = 20
    max_frames: int | None = None
    start: float = 0.0
    duration: float | None = None
    stabilize: str = "flow"
    strength: float = 0.9

    def __post_init__(self) -> None:
        if self.stabilize not in ("flow", "none"):
            raise ConfigError(f"video.stabilize={self.stabilize!r}: use flow (steady colour) or none (frame by frame).")
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError(f"video.max_frames={self.max_frames}: give a count of at least 1, or null for all.")
        if self.start < 0 or (self.duration is not None and self.duration <= 0):
            raise ConfigError(
                f"video.start={self.start}, video.duration={self.duration}: seconds, start >= 0, duration > 0."
            )
        if not 0 <= self.strength < 1:
            raise ConfigError(f"video.strength={self.strength}: the carried colour's weight, in [0, 1).")
        if not 0 <= self.crf <= 63:
            raise ConfigError(f"video.crf={self.crf}: the encoder's quality, 0 (lossless) to 51 (H.264) or 63 (VP9).")

    def end(self) -> float:
        return float("inf") if self.duration is None else self.start + self.duration

    def whole_film(self) -> bool:
        """Whether every frame is asked for (no preview, window or start)."""
        return self.max_frames is None and self.start == 0 and self.duration is None


def output_codec(requested: str, suffix: str) -> str:
    """The encoder for a file with `suffix`: the requested one, or for `auto` H.264 where this
    PyAV's FFmpeg has it (VP9 for WebM, which only takes VP8/VP9/AV1), else MPEG-4 part 2."""
    if requested != "auto":
        if requested not in av.codecs_available:
            raise ConfigError(f"video.codec={requested} is not an encoder of this PyAV's FFmpeg; try auto or libx264.")
        return requested
    preferred = ("libvpx-vp9", "libvpx") if suffix.lower() == ".webm" else ("libx264", "libopenh264", "mpeg4")
    return next(name for name in (*preferred, "mpeg4") if name in av.codecs_available)


def add_video_stream(output: av.container.OutputContainer, source: av.video.stream.VideoStream, codec: str, crf: int):
    """The output's video stream: the source's frame rate and size, 8-bit 4:2:0 (4:4:4 when a side
    is odd, which 4:2:0 cannot hold, for encoders that take it)."""
    rate = source.average_rate or source.guessed_rate or Fraction(25)
    stream = output.add_stream(codec, rate=rate)
    stream.width, stream.height = source.codec_context.width, source.codec_context.height
    even = stream.width % 2 == 0 and stream.height % 2 == 0
    stream.pix_fmt = "yuv420p" if even or codec not in ("libx264", "libvpx-vp9") else "yuv444p"
    stream.codec_context.time_base = 1 / Fraction(rate)
    if codec in ("libx264", "libvpx-vp9"):
        stream.options = {"crf": str(crf)} | ({"b:v": "0"} if codec == "libvpx-vp9" else {})
    stream.metadata.update(source.metadata)
    return stream


def copy_streams(input_: av.container.InputContainer, output: av.container.OutputContainer) -> tuple[dict, list[str]]:
    """Output streams for the input's audio and subtitle streams, copied packet by packet (not
    re-encoded): ({input stream index: output stream}, what could not be kept and why)."""
    copies, dropped = {}, []
    for stream in input_.streams:
        if stream.type not in ("audio", "subtitle"):
            continue
        try:
            copies[stream.index] = output.add_stream_from_template(stream)
            copies[stream.index].metadata.update(stream.metadata)
        except (av.FFmpegError, ValueError) as error:
            dropped.append(f"{stream.type} stream {stream.index} ({stream.codec_context.name}): {error}")
    return copies, dropped


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """[H,W,3] uint8 RGB of a decoded frame."""
    return frame.to_ndarray(format="rgb24")


def declared_frames(input_, video) -> int | None:
    """The frame count the file's header gives: the stream's own, or its duration (the stream's or
    the container's) times the frame rate; None when it gives neither."""
    if video.frames:
        return video.frames
    rate = float(video.average_rate or 0)
    if video.duration and video.time_base:
        seconds = float(video.duration * video.time_base)
    elif input_.duration:
        seconds = input_.duration / av.time_base
    else:
        return None
    return round(seconds * rate) or None


def expected_frames(input_, video, options: VideoOptions) -> int | None:
    """The frame count to expect within `options`' window, for the progress bar."""
    total = declared_frames(input_, video)
    rate = float(video.average_rate or 0)
    if options.duration is not None and rate:
        total = min(total or 10**9, int(options.duration * rate) + 1)
    if options.max_frames is not None:
        total = min(total or options.max_frames, options.max_frames)
    return total


def frames_in_window(input_, video, copies: dict, output, options: VideoOptions) -> Iterator[np.ndarray]:
    """The RGB frames [H,W,3] uint8 from `options.start` to its end, `max_frames` or `duration`,
    muxing the copied streams' packets (`copies`: input stream index -> output stream) as they come."""
    if options.start > 0:
        input_.seek(int(options.start / video.time_base), stream=video)  # the key frame before start
    half_frame = 0.5 / float(video.average_rate or 25)  # frame times are rounded to the stream's time base
    earliest, latest = options.start - half_frame, options.end() - half_frame
    taken = 0
    for packet in input_.demux(video, *(input_.streams[index] for index in copies)):
        if packet.stream.index in copies:
            copy_packet(packet, copies[packet.stream.index], output, options)
            continue
        for frame in packet.decode():
            if frame.time is not None and frame.time < earliest:
                continue
            if (options.max_frames is not None and taken >= options.max_frames) or (
                frame.time is not None and frame.time >= latest
            ):
                return
            taken += 1
            yield frame_to_rgb(frame)


def copy_packet(packet: av.Packet, stream, output, options: VideoOptions) -> None:
    """Mux an audio or subtitle packet as it is, shifted to the output's start, when it falls in
    [video.start, video.start + video.duration)."""
    if packet.dts is None:  # the demuxer's empty packet at the end of a stream
        return
    time_base = packet.stream.time_base
    seconds = float((packet.pts if packet.pts is not None else packet.dts) * time_base)
    if seconds >= options.end() or (options.start > 0 and seconds < options.start):  # before 0: an encoder's priming
        return
    offset = int(options.start / time_base)
    packet.dts -= offset
    if packet.pts is not None:
        packet.pts -= offset
    packet.stream = stream
    output.mux(packet)
