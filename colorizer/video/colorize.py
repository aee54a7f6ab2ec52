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
from colorizer.inference.hint_points import HintError
from colorizer.inference.outputs import Job, PredictSummary
from colorizer.inference.photo import batch_hints, full_resolution_packed, model_input, predict_ab
from colorizer.video import CONTAINERS
from colorizer.video.files import (
    VideoDecodeError,
    VideoOptions,
    add_video_stream,
    copy_streams,
    declared_frames,
    expected_frames,
    frames_in_window,
    output_codec,
)
from colorizer.video.hint_tracks import HintTracker
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
    autocast with `bf16`), `table` being `srgb_table()` on `device`; a hint point becomes a patch
    of `hint_side` pixels at the network's size."""

    def __init__(
        self,
        model: TrainedColorizer,
        device: torch.device,
        table: torch.Tensor,
        options: VideoOptions,
        batch_size: int = 16,
        bf16: bool = False,
        hint_side: int = 3,
    ) -> None:
        self.model, self.device, self.table, self.options = model, device, table, options
        self.batch_size, self.bf16, self.hint_side = batch_size, bf16, hint_side
        self.net = model.net.to(memory_format=torch.channels_last)  # as PredictPipeline: the faster layout

    def predict_frames(self, frames: list[np.ndarray], tracker: HintTracker | None = None) -> list[FramePrediction]:
        """The network's prediction for each RGB frame [H,W,3] uint8, in one batch, given the hints
        `tracker` carries onto each (None: no hints)."""
        if not frames:
            return []
        levels = [lightness_level(rgb) for rgb in frames]
        size = self.model.image_size
        inputs = torch.cat([model_input(level, size) for level in levels])
        levels_small = (inputs[:, 0] * 255).round().to(torch.uint8).numpy()
        hints = None
        if tracker is not None:
            hints = batch_hints(
                [tracker(small, (rgb.shape[1], rgb.shape[0])) for small, rgb in zip(levels_small, frames, strict=True)],
                size,
            )
        ab_small = predict_ab(
            self.net,
            inputs.contiguous(memory_format=torch.channels_last),
            hints,
            self.device,
            self.bf16,
            self.model.temperature,
        ).cpu()
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

    def colour_frames(
        self, frames: list[np.ndarray], stabilizer: TemporalStabilizer | None, tracker: HintTracker | None = None
    ) -> list[torch.Tensor]:
        """`finish` of `predict_frames`: each RGB frame [H,W,3] uint8 coloured, packed [H,W] int32."""
        return self.finish(self.predict_frames(frames, tracker), stabilizer)

    def run(
        self, source: Path, target: Path, progress: Progress | None = None, points: list[dict] | None = None
    ) -> VideoResult:
        """Colour `source` into `target` (its container chosen by the extension), with the hint
        `points` of the hints file (`colorizer.video.hint_tracks`; None: none). Raises
        VideoDecodeError when `source` cannot be opened as a video, HintError for a bad point
        (nothing written); damage further in ends the output at the frame before it, with
        `VideoResult.error` saying where and why."""
        try:
            input_ = av.open(str(source))
        except (av.FFmpegError, UnicodeDecodeError) as error:
            raise VideoDecodeError(f"cannot open {source} as a video: {error}") from None
        with input_:
            if not input_.streams.video:
                raise VideoDecodeError(f"{source} holds no video stream")
            result = VideoResult()
            started = time.perf_counter()
            tracker = HintTracker(points, self.model.image_size, self.hint_side) if points else None
            suffix = target.suffix.lower()
            atomic_write(target, lambda handle: self._write(input_, handle, suffix, result, progress, tracker))
            if tracker is not None and tracker.unused_frames():
                log.warning(
                    "%s: hint points on frames %s were not used: %d frames were coloured (frames count from 0).",
                    source,
                    tracker.unused_frames(),
                    result.frames,
                )
            result.seconds = time.perf_counter() - started
        log.info(
            "%s: %d frames in %.1f s (%.2f frames/s)", target, result.frames, result.seconds, result.frames_per_second()
        )
        return result

    def _write(
        self, input_, handle, suffix: str, result: VideoResult, progress: Progress | None, tracker: HintTracker | None
    ) -> None:
        options = self.options
        video = input_.streams.video[0]
        video.thread_type = "AUTO"
        name = Path(input_.name).name
        stabilizer = TemporalStabilizer(options.strength) if options.stabilize == "flow" else None
        task = progress.add_task(name, total=expected_frames(input_, video, options)) if progress else None
        started = time.perf_counter()
        with av.open(handle, "w", format=CONTAINERS[suffix]) as output:
            output.metadata.update(input_.metadata)
            encoder = add_video_stream(output, video, output_codec(options.codec, suffix), options.crf)
            copies, result.dropped_streams = copy_streams(input_, output)

            def write(frames: list[np.ndarray]) -> None:
                for packed in self.colour_frames(frames, stabilizer, tracker):
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
                for rgb in frames_in_window(input_, video, copies, output, options):
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
        if result.error is None and options.whole_film() and expected and result.frames < expected - margin:
            result.error = f"it ended at frame {result.frames} of about {expected} its header declares (cut short?)"


def colour_videos(
    jobs: list[Job],
    colorizer: VideoColorizer,
    summary: PredictSummary,
    progress: Progress | None,
    hints: dict[str, list] | None = None,
) -> None:
    """Colour each video job, one after another, with its points of `hints` (by path relative to
    the input, as for photos), recording it in `summary`: a video that stops early is written
    (whole, up to the damage) and counted as failed, with where and why."""
    for job in jobs:
        try:
            result = colorizer.run(job.source, job.target, progress, (hints or {}).get(job.relative.as_posix()))
        except VideoDecodeError as error:
            summary.failed.append((job.source, str(error)))
            continue
        except HintError as error:
            summary.failed.append((job.source, f"hints: {error}"))
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
