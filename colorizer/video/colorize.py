"""A film through a trained colorizer, streamed: frames decoded, coloured in batches at their own
size with their own L, steadied over time, encoded, never held whole. The output is written under a
temporary name and renamed once complete; a damaged input ends it early but whole."""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import torch
from rich.progress import Progress

from colorizer.atomic import atomic_write
from colorizer.color.srgb_table import lightness_level, packed_to_rgbx
from colorizer.inference.checkpoints import TrainedColorizer
from colorizer.inference.outputs import Job, PredictSummary
from colorizer.inference.photo import full_resolution_packed, model_input, predict_ab
from colorizer.video import CONTAINERS
from colorizer.video.files import (
    VideoDecodeError,
    VideoOptions,
    add_video_stream,
    copy_streams,
    declared_frames,
    frame_to_rgb,
    output_codec,
)
from colorizer.video.stabilize import TemporalStabilizer

log = logging.getLogger(__name__)


@dataclass
class VideoResult:
    """What was written: frames, seconds taken, why it stopped early (None: it did not), and the
    streams that could not be copied."""

    frames: int = 0
    seconds: float = 0.0
    error: str | None = None
    dropped_streams: list[str] = field(default_factory=list)

    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


@dataclass
class FramePrediction:
    """One frame's network output and what colouring it needs: its L's table levels [H,W] uint8,
    its 8-bit L at the network's size [S,S] uint8 (what the stabiliser follows) and ab [1,2,S,S]."""

    level: torch.Tensor
    level_small: np.ndarray
    ab_small: torch.Tensor


class VideoColorizer:
    """Colours videos with `model` on `device` (`batch_size` frames per network call, bf16
    autocast with `bf16`), `table` being `srgb_table()` on `device`."""

    def __init__(
        self,
        model: TrainedColorizer,
        device: torch.device,
        table: torch.Tensor,
        options: VideoOptions,
        batch_size: int = 16,
        bf16: bool = False,
    ) -> None:
        self.model, self.device, self.table, self.options = model, device, table, options
        self.batch_size, self.bf16 = batch_size, bf16
        self.net = model.net.to(memory_format=torch.channels_last)  # as PredictPipeline: the faster layout

    def predict_frames(self, frames: list[np.ndarray]) -> list[FramePrediction]:
        """The network's prediction for each RGB frame [H,W,3] uint8, in one batch."""
        if not frames:
            return []
        levels = [lightness_level(rgb) for rgb in frames]
        inputs = torch.cat([model_input(level, self.model.image_size) for level in levels])
        ab_small = predict_ab(
            self.net,
            inputs.contiguous(memory_format=torch.channels_last),
            None,
            self.device,
            self.bf16,
            self.model.temperature,
        ).cpu()
        levels_small = (inputs[:, 0] * 255).round().to(torch.uint8).numpy()
        return [FramePrediction(level, levels_small[row], ab_small[row : row + 1]) for row, level in enumerate(levels)]

    def finish(self, predicted: list[FramePrediction], stabilizer: TemporalStabilizer | None) -> list[torch.Tensor]:
        """Packed 8-bit sRGB [H,W] int32 (`lab_to_srgb8`) of each predicted frame, in order, each
        steadied by `stabilizer` (None: frame by frame), at the frame's own size with its own L."""
        packed = []
        for frame in predicted:
            ab = frame.ab_small
            if stabilizer is not None:
                steadied = stabilizer(frame.level_small, ab[0].permute(1, 2, 0).numpy())
                ab = torch.from_numpy(steadied).permute(2, 0, 1)[None]
            packed.append(full_resolution_packed(frame.level.to(self.device), ab.to(self.device), self.table).cpu())
        return packed

    def colour_frames(self, frames: list[np.ndarray], stabilizer: TemporalStabilizer | None) -> list[torch.Tensor]:
        """`finish` of `predict_frames`: each RGB frame [H,W,3] uint8 coloured, packed [H,W] int32."""
        return self.finish(self.predict_frames(frames), stabilizer)

    def run(self, source: Path, target: Path, progress: Progress | None = None) -> VideoResult:
        """Colour `source` into `target` (its container chosen by the extension). Raises
        VideoDecodeError when `source` cannot be opened as a video; damage further in ends the
        output at the frame before it, with `VideoResult.error` saying where and why."""
        try:
            input_ = av.open(str(source))
        except (av.FFmpegError, UnicodeDecodeError) as error:
            raise VideoDecodeError(f"cannot open {source} as a video: {error}") from None
        with input_:
            if not input_.streams.video:
                raise VideoDecodeError(f"{source} holds no video stream")
            result = VideoResult()
            started = time.perf_counter()
            atomic_write(target, lambda handle: self._write(input_, handle, target.suffix.lower(), result, progress))
            result.seconds = time.perf_counter() - started
        log.info(
            "%s: %d frames in %.1f s (%.2f frames/s)", target, result.frames, result.seconds, result.frames_per_second()
        )
        return result

    def _write(self, input_, handle, suffix: str, result: VideoResult, progress: Progress | None) -> None:
        options = self.options
        video = input_.streams.video[0]
        video.thread_type = "AUTO"
        name = Path(input_.name).name
        stabilizer = TemporalStabilizer(options.strength) if options.stabilize == "flow" else None
        task = progress.add_task(name, total=self._expected_frames(input_, video)) if progress else None
        started = time.perf_counter()
        with av.open(handle, "w", format=CONTAINERS[suffix]) as output:
            output.metadata.update(input_.metadata)
            encoder = add_video_stream(output, video, output_codec(options.codec, suffix), options.crf)
            copies, result.dropped_streams = copy_streams(input_, output)

            def write(frames: list[np.ndarray]) -> None:
                for packed in self.colour_frames(frames, stabilizer):
                    frame = av.VideoFrame.from_ndarray(packed_to_rgbx(packed), format="rgba")  # the 4th byte unused
                    frame.pts = result.frames
                    output.mux(encoder.encode(frame))
                    result.frames += 1
                if progress is not None:
                    rate = result.frames / max(time.perf_counter() - started, 1e-9)
                    progress.update(task, completed=result.frames, description=f"{name} {rate:.1f} frames/s")
                frames.clear()

            batch: list[np.ndarray] = []
            try:
                for rgb in self._frames(input_, video, copies, output):
                    batch.append(rgb)
                    if len(batch) == self.batch_size:
                        write(batch)
            except av.FFmpegError as error:
                result.error = f"the input is damaged at frame {result.frames + len(batch) + 1}: {error}"
            write(batch)
            output.mux(encoder.encode(None))
        expected = declared_frames(input_, video)
        # A container's duration covers its longest stream (audio may outlast the picture): a margin.
        margin = 1 if video.frames else max(2, expected // 10 if expected else 0)
        if result.error is None and self._whole_film_asked() and expected and result.frames < expected - margin:
            result.error = f"it ended at frame {result.frames} of about {expected} its header declares (cut short?)"

    def _frames(self, input_, video, copies: dict, output):
        """The RGB frames [H,W,3] uint8 from video.start to its end, `max_frames` or `duration`,
        muxing the copied streams' packets as they come."""
        options = self.options
        if options.start > 0:
            input_.seek(int(options.start / video.time_base), stream=video)  # the key frame before start
        half_frame = 0.5 / float(video.average_rate or 25)  # frame times are rounded to the stream's time base
        earliest, latest = options.start - half_frame, options.end() - half_frame
        taken = 0
        for packet in input_.demux(video, *(input_.streams[index] for index in copies)):
            if packet.stream.index in copies:
                self._copy(packet, copies[packet.stream.index], output)
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

    def _whole_film_asked(self) -> bool:
        options = self.options
        return options.max_frames is None and options.start == 0 and options.duration is None

    def _expected_frames(self, input_, video) -> int | None:
        """The frame count to expect, for the progress bar."""
        total = declared_frames(input_, video)
        rate = float(video.average_rate or 0)
        if self.options.duration is not None and rate:
            total = min(total or 10**9, int(self.options.duration * rate) + 1)
        if self.options.max_frames is not None:
            total = min(total or self.options.max_frames, self.options.max_frames)
        return total

    def _copy(self, packet: av.Packet, stream, output) -> None:
        """Mux an audio or subtitle packet as it is, shifted to the output's start, when it falls in
        [video.start, video.start + video.duration)."""
        if packet.dts is None:  # the demuxer's empty packet at the end of a stream
            return
        time_base = packet.stream.time_base
        seconds = float((packet.pts if packet.pts is not None else packet.dts) * time_base)
        start = self.options.start
        if seconds >= self.options.end() or (start > 0 and seconds < start):  # before 0: an encoder's priming
            return
        offset = int(self.options.start / time_base)
        packet.dts -= offset
        if packet.pts is not None:
            packet.pts -= offset
        packet.stream = stream
        output.mux(packet)


def colour_videos(
    jobs: list[Job], colorizer: VideoColorizer, summary: PredictSummary, progress: Progress | None
) -> None:
    """Colour each video job, one after another, recording it in `summary`: a video that stops
    early is written (whole, up to the damage) and counted as failed, with where and why."""
    for job in jobs:
        try:
            result = colorizer.run(job.source, job.target, progress)
        except VideoDecodeError as error:
            summary.failed.append((job.source, str(error)))
            continue
        except OSError as error:
            summary.failed.append((job.source, f"cannot write {job.target}: {error}"))
            continue
        for dropped in result.dropped_streams:
            log.warning("%s: not kept in %s: %s", job.source, job.target, dropped)
        if result.error is None:
            summary.written.append(job.target)
        else:
            summary.failed.append(
                (job.source, f"{result.error}; the {result.frames} frames before it are in {job.target}")
            )
