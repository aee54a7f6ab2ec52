"""The work behind `colorizer.predict`: a pipeline that decodes, runs the network in batches,
colours at full resolution and writes, with every core busy.

Each image is opened (EXIF orientation applied; an alpha channel is set aside and given back to
the output, the colour channels used as they are), its L is resized to the model's size, the
predicted ab is upsampled to the original size and joined with the ORIGINAL L. Which files go
where, and how they are written: `colorizer.inference.outputs`.
"""

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rich.progress import Progress

from colorizer.color.srgb_table import srgb_table
from colorizer.data.images import ImageDecodeError, with_alpha
from colorizer.inference.checkpoints import TrainedColorizer
from colorizer.inference.hint_points import HintError
from colorizer.inference.outputs import Job, PredictSummary, comparison_panel, save_image
from colorizer.inference.photo import PreparedPhoto, batch_hints, full_resolution_image, predict_ab, prepare_photo


@dataclass
class Decoded:
    job: Job
    photo: PreparedPhoto


@dataclass
class OutputSettings:
    """Where comparison panels go (none when None), the JPEG / WebP quality, the folder of the
    colour table (`srgb_table`; None: the default cache folder), and the user's hints: points
    per input path relative to the input folder (`colorizer.inference.hint_points`), each a patch of
    `hint_side` pixels at the model's size."""

    compare_dir: Path | None = None
    jpeg_quality: int = 95
    table_dir: Path | None = None
    hints: dict[str, list] = field(default_factory=dict)
    hint_side: int = 3


class PredictPipeline:
    """Colorizes jobs in batches of `batch_size` with `model` on `device` (the network under bf16
    autocast with `bf16`). A thread pool decodes the next batch and colours and writes the
    previous one while the network runs on this one, so every core has work; at most three
    batches of photos are in memory. Failures are recorded in the summary, never raised."""

    def __init__(
        self,
        model: TrainedColorizer,
        device: torch.device,
        batch_size: int = 16,
        bf16: bool = False,
        output: OutputSettings | None = None,
    ) -> None:
        self.model, self.device, self.batch_size, self.bf16 = model, device, batch_size, bf16
        self.output = output or OutputSettings()
        self.table = srgb_table(self.output.table_dir).to(device)
        self.net = model.net.to(memory_format=torch.channels_last)  # the faster convolution layout on CPUs and GPUs

    def run(self, jobs: list[Job], summary: PredictSummary, progress: Progress | None = None) -> None:
        task = progress.add_task("colorizing", total=len(jobs)) if progress else None

        def record(job: Job, error: str | None) -> None:
            if error:
                summary.failed.append((job.source, error))
            else:
                summary.written.append(job.target)
            if progress:
                progress.update(task, advance=1)

        batches = [jobs[start : start + self.batch_size] for start in range(0, len(jobs), self.batch_size)]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            decoding = [pool.submit(self._decode, job) for job in batches[0]] if batches else []
            writing: list[Future] = []
            for index in range(len(batches)):
                decoded = [future.result() for future in decoding]
                if index + 1 < len(batches):
                    decoding = [pool.submit(self._decode, job) for job in batches[index + 1]]
                for job, error in (item for item in decoded if not isinstance(item, Decoded)):
                    record(job, error)
                readable = [item for item in decoded if isinstance(item, Decoded)]
                submitted = [pool.submit(self._colour_and_write, item, ab) for item, ab in self._predict(readable)]
                for future in writing:  # the previous batch was written while this one was computed
                    record(*future.result())
                writing = submitted
            for future in writing:
                record(*future.result())

    def _decode(self, job: Job) -> Decoded | tuple[Job, str]:
        points = self.output.hints.get(job.relative.as_posix())
        try:
            return Decoded(job, prepare_photo(job.source, self.model.image_size, points, self.output.hint_side))
        except ImageDecodeError as error:
            return job, str(error)
        except HintError as error:
            return job, f"hints: {error}"

    def _predict(self, items: list[Decoded]) -> list[tuple[Decoded, torch.Tensor]]:
        """Each item with its predicted ab [1,2,S,S] at the model's size."""
        if not items:
            return []
        inputs = torch.cat([item.photo.model_input for item in items])
        inputs = inputs.to(self.device, memory_format=torch.channels_last)
        hints = batch_hints([item.photo.hints for item in items], self.model.image_size)
        ab_small = predict_ab(self.net, inputs, hints, self.device, self.bf16, self.model.temperature)
        return [(item, ab_small[row : row + 1]) for row, item in enumerate(items)]

    def _colour_and_write(self, item: Decoded, ab_small: torch.Tensor) -> tuple[Job, str | None]:
        photo = item.photo
        colorized = full_resolution_image(photo.level.to(self.device), ab_small, self.table)
        quality, compare_dir = self.output.jpeg_quality, self.output.compare_dir
        try:
            save_image(with_alpha(colorized, photo.alpha), item.job.target, quality)
            if compare_dir is not None:
                save_image(comparison_panel(photo.image, colorized), compare_dir / item.job.relative, quality)
            return item.job, None
        except OSError as error:
            return item.job, f"cannot write {item.job.target}: {error}"
