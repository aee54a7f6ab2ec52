"""`python -m colorizer.predict`: colorize photos at their full resolution.

Each image is opened (EXIF orientation applied; an alpha channel is set aside and given back to the
output, the colour channels used as they are), its L is resized to the model's size, the
predicted ab is upsampled to the original size and joined with the ORIGINAL L. Outputs are
written under a temporary name and renamed, never over an input, and over an existing output
only with `overwrite=true`.
"""

import functools
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from PIL import Image
from rich.progress import Progress

from colorizer.atomic import atomic_write
from colorizer.data.images import ImageDecodeError, list_image_files, open_photo, with_alpha
from colorizer.evaluate import resolve_device
from colorizer.inference import TrainedColorizer, full_resolution_image, load_colorizer, model_input
from colorizer.precision import use_bf16
from colorizer.srgb_table import lightness, srgb_table

log = logging.getLogger(__name__)

SAVE_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
}  # fmt: skip


@dataclass
class PredictSummary:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class Job:
    source: Path
    target: Path
    relative: Path  # the input's path relative to the input folder, also used for its comparison panel


def find_inputs(input_path: Path, recursive: bool) -> tuple[Path, list[Path]]:
    """(the folder outputs are relative to, the image files to colorize)."""
    if input_path.is_file():
        return input_path.parent, [input_path]
    if not input_path.is_dir():
        raise FileNotFoundError(f"input={input_path} does not exist.")
    return input_path, list_image_files(input_path, recursive)


def plan_jobs(base: Path, files: list[Path], output: Path, overwrite: bool, summary: PredictSummary) -> list[Job]:
    """Map inputs to outputs with the same relative path; refuse to touch inputs or existing files."""
    inputs = {f.resolve() for f in files}
    jobs = []
    for source in files:
        target = output / source.relative_to(base)
        if target.resolve() in inputs:
            summary.failed.append((source, f"its output {target} would overwrite an input; choose another output="))
        elif target.exists() and not overwrite:
            summary.skipped.append((source, f"{target} exists (use overwrite=true)"))
        else:
            jobs.append(Job(source, target, source.relative_to(base)))
    return jobs


def save_image(image: Image.Image, target: Path, jpeg_quality: int) -> None:
    """Save in the format the target's extension names (PNG otherwise), never half-written."""
    image_format = SAVE_FORMATS.get(target.suffix.lower(), "PNG")
    options = {"quality": jpeg_quality} if image_format in ("JPEG", "WEBP") else {}
    atomic_write(target, lambda handle: image.save(handle, format=image_format, **options))


def has_colour(image: Image.Image) -> bool:
    """Whether an 'RGB' image is more than gray (JPEG noise of a gray photo aside)."""
    rgb = np.asarray(image)
    return bool(np.abs(rgb.astype(np.int16) - rgb.mean(axis=2, keepdims=True)).max() > 2)


def comparison_panel(original: Image.Image, colorized: Image.Image) -> Image.Image:
    """gray input | colorized | truth (the last only when the input had colour)."""
    gray = original.convert("L").convert("RGB")
    panels = [gray, colorized] + ([original] if has_colour(original) else [])
    width, height = original.size
    canvas = Image.new("RGB", (width * len(panels), height), (255, 255, 255))
    for index, panel in enumerate(panels):
        canvas.paste(panel, (index * width, 0))
    return canvas


@dataclass
class Decoded:
    job: Job
    image: Image.Image  # 'RGB': the colour channels as they are
    alpha: Image.Image | None  # 'L': the input's transparency, given back to the output
    level: torch.Tensor  # [H,W] uint8: the original L's level in the colour table
    model_input: torch.Tensor  # [1,1,S,S]: L/100 resized to the model's size


def _decode(job: Job, image_size: int) -> Decoded | tuple[Job, str]:
    try:
        image, alpha = open_photo(job.source)
    except ImageDecodeError as error:
        return job, str(error)
    L, level = lightness(np.asarray(image))
    return Decoded(job, image, alpha, level, model_input(L, image_size))


def colorize_files(
    model: TrainedColorizer,
    jobs: list[Job],
    device: torch.device,
    summary: PredictSummary,
    batch_size: int = 16,
    compare_dir: Path | None = None,
    jpeg_quality: int = 95,
    progress: Progress | None = None,
    bf16: bool = False,
) -> None:
    """Colorize each job's image at full resolution and write it; failures are recorded, not raised.
    `bf16` runs the network under bfloat16 autocast (see `inference.use_bf16`).

    The pool decodes the next batch and colours and writes the previous one while the network
    runs on this one, so every core has work; at most three batches of photos are in memory.
    """
    task = progress.add_task("colorizing", total=len(jobs)) if progress else None
    table = srgb_table().to(device)
    net = model.net.to(memory_format=torch.channels_last)  # faster convolutions on CPUs and GPUs alike
    batches = [jobs[start : start + batch_size] for start in range(0, len(jobs), batch_size)]

    def collect(futures: list[Future]) -> None:
        for future in futures:
            job, error = future.result()
            if error:
                summary.failed.append((job.source, error))
            else:
                summary.written.append(job.target)
            if progress:
                progress.update(task, advance=1)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decode = functools.partial(_decode, image_size=model.image_size)
        decoding = [pool.submit(decode, job) for job in batches[0]] if batches else []
        writing: list[Future] = []
        for index in range(len(batches)):
            batch = [future.result() for future in decoding]
            if index + 1 < len(batches):
                decoding = [pool.submit(decode, job) for job in batches[index + 1]]
            readable = [item for item in batch if isinstance(item, Decoded)]
            for job, error in (item for item in batch if not isinstance(item, Decoded)):
                summary.failed.append((job.source, error))
                if progress:
                    progress.update(task, advance=1)
            submitted = []
            if readable:
                inputs = torch.cat([item.model_input for item in readable]).to(device)
                with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=bf16):
                    ab_small = net(inputs.contiguous(memory_format=torch.channels_last)).float()
                for row, item in enumerate(readable):
                    colour = functools.partial(
                        full_resolution_image, item.level.to(device), ab_small[row : row + 1], table
                    )
                    submitted.append(pool.submit(_colour_and_write, item, colour, compare_dir, jpeg_quality))
            collect(writing)  # the previous batch was written while this one was computed
            writing = submitted
        collect(writing)


def _colour_and_write(
    item: Decoded, colour: Callable[[], Image.Image], compare_dir: Path | None, quality: int
) -> tuple[Job, str | None]:
    colorized = colour()
    try:
        save_image(with_alpha(colorized, item.alpha), item.job.target, quality)
        if compare_dir is not None:
            save_image(comparison_panel(item.image, colorized), compare_dir / item.job.relative, quality)
        return item.job, None
    except OSError as error:
        return item.job, f"cannot write {item.job.target}: {error}"


def run_predict(cfg: DictConfig) -> PredictSummary:
    device = resolve_device(cfg.device)
    model = load_colorizer(cfg.ckpt_path, device, cfg.get("temperature"))
    base, files = find_inputs(Path(cfg.input).expanduser(), cfg.recursive)
    output = Path(cfg.output).expanduser()
    summary = PredictSummary()
    jobs = plan_jobs(base, files, output, cfg.overwrite, summary)
    compare_dir = output / "compare" if cfg.compare else None
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        colorize_files(
            model, jobs, device, summary, cfg.batch_size, compare_dir, cfg.jpeg_quality, progress,
            bf16=use_bf16(cfg.precision, device),
        )  # fmt: skip
    return summary


@hydra.main(version_base="1.3", config_path="../conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    summary = run_predict(cfg)
    for source, reason in summary.skipped:
        print(f"skipped {source}: {reason}")
    for source, reason in summary.failed:
        print(f"FAILED  {source}: {reason}")
    print(
        f"{len(summary.written)} written, {len(summary.skipped)} skipped, {len(summary.failed)} failed -> {cfg.output}"
    )
    if summary.failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
