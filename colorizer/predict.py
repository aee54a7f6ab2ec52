"""`python -m colorizer.predict`: colorize photos at their full resolution.

Each image is opened (EXIF orientation applied), its L is resized to the model's size, the
predicted ab is upsampled to the original size and joined with the ORIGINAL L. Outputs are
written under a temporary name and renamed, never over an input, and over an existing output
only with `overwrite=true`.
"""

import logging
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from PIL import Image
from rich.progress import Progress

from colorizer.atomic import atomic_write
from colorizer.data.images import ImageDecodeError, list_image_files, open_rgb
from colorizer.evaluate import resolve_device
from colorizer.inference import TrainedColorizer, full_resolution_rgb, lightness, load_colorizer, model_input

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


def to_image(rgb: torch.Tensor) -> Image.Image:
    """[1,3,H,W] in [0, 1] -> 8-bit RGB image."""
    return Image.fromarray((rgb[0].clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy())


def comparison_panel(original: Image.Image, colorized: Image.Image) -> Image.Image:
    """gray input | colorized | truth (the last only when the input had colour)."""
    gray = original.convert("L").convert("RGB")
    rgb = np.asarray(original)
    has_colour = bool(np.abs(rgb.astype(np.int16) - rgb.mean(axis=2, keepdims=True)).max() > 2)
    panels = [gray, colorized] + ([original] if has_colour else [])
    width, height = original.size
    canvas = Image.new("RGB", (width * len(panels), height), (255, 255, 255))
    for index, panel in enumerate(panels):
        canvas.paste(panel, (index * width, 0))
    return canvas


def _decode(job: Job) -> tuple[Job, Image.Image | str]:
    try:
        return job, open_rgb(job.source)
    except ImageDecodeError as error:
        return job, str(error)


def _batches(jobs: list[Job], size: int, pool: ThreadPoolExecutor) -> Iterator[list[tuple[Job, Image.Image | str]]]:
    """Decoded images in batches; the images of a batch are decoded in parallel by the pool."""
    for start in range(0, len(jobs), size):
        yield list(pool.map(_decode, jobs[start : start + size]))


def colorize_files(
    model: TrainedColorizer,
    jobs: list[Job],
    device: torch.device,
    summary: PredictSummary,
    batch_size: int = 16,
    compare_dir: Path | None = None,
    jpeg_quality: int = 95,
    progress: Progress | None = None,
) -> None:
    """Colorize each job's image at full resolution and write it; failures are recorded, not raised."""
    task = progress.add_task("colorizing", total=len(jobs)) if progress else None

    def collect(futures: list) -> None:
        for future in futures:
            job, error = future.result()
            if error:
                summary.failed.append((job.source, error))
            else:
                summary.written.append(job.target)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        writing: list = []
        for batch in _batches(jobs, batch_size, pool):
            readable = [(job, image) for job, image in batch if not isinstance(image, str)]
            summary.failed += [(job.source, image) for job, image in batch if isinstance(image, str)]
            submitted = []
            if readable:
                lightnesses = [lightness(np.asarray(image)).to(device) for _, image in readable]
                with torch.no_grad():
                    ab_small = model.net(torch.cat([model_input(L_full, model.image_size) for L_full in lightnesses]))
                for row, ((job, image), L_full) in enumerate(zip(readable, lightnesses, strict=True)):
                    colorized = to_image(full_resolution_rgb(L_full, ab_small[row : row + 1]))
                    submitted.append(pool.submit(_write, job, image, colorized, compare_dir, jpeg_quality))
            collect(writing)  # the previous batch was encoded while this one was computed
            writing = submitted
            if progress:
                progress.update(task, advance=len(batch))
        collect(writing)


def _write(job: Job, original: Image.Image, colorized: Image.Image, compare_dir: Path | None, quality: int):
    try:
        save_image(colorized, job.target, quality)
        if compare_dir is not None:
            save_image(comparison_panel(original, colorized), compare_dir / job.relative, quality)
        return job, None
    except OSError as error:
        return job, f"cannot write {job.target}: {error}"


def run_predict(cfg: DictConfig) -> PredictSummary:
    device = resolve_device(cfg.device)
    model = load_colorizer(cfg.ckpt_path, device)
    base, files = find_inputs(Path(cfg.input).expanduser(), cfg.recursive)
    output = Path(cfg.output).expanduser()
    summary = PredictSummary()
    jobs = plan_jobs(base, files, output, cfg.overwrite, summary)
    compare_dir = output / "compare" if cfg.compare else None
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        colorize_files(model, jobs, device, summary, cfg.batch_size, compare_dir, cfg.jpeg_quality, progress)
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
