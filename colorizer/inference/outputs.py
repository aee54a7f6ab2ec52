"""Which files `colorizer.predict` writes where, and how: inputs found and mapped to outputs (never
over an input, over an existing output only with `overwrite`), images saved whole or not at all
in the format their extension names, and the comparison panel."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from colorizer.atomic import atomic_write
from colorizer.data.images import IMAGE_EXTENSIONS, has_colour, list_image_files


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


def find_inputs(
    input_path: Path, recursive: bool, extensions: tuple[str, ...] = IMAGE_EXTENSIONS
) -> tuple[Path, list[Path]]:
    """(the folder outputs are relative to, the files to colorize: those with `extensions`)."""
    if input_path.is_file():
        return input_path.parent, [input_path]
    if not input_path.is_dir():
        raise FileNotFoundError(f"input={input_path} does not exist.")
    return input_path, list_image_files(input_path, recursive, extensions)


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


def save_options(image_format: str, jpeg_quality: int) -> dict[str, int]:
    """Pillow's save options for `image_format`: the quality of the lossy ones."""
    return {"quality": jpeg_quality} if image_format in ("JPEG", "WEBP") else {}


def save_image(image: Image.Image, target: Path, jpeg_quality: int) -> None:
    """Save in the format Pillow registers for the target's extension (PNG when it has none it
    can write), never half-written."""
    image_format = Image.registered_extensions().get(target.suffix.lower())
    image_format = image_format if image_format in Image.SAVE else "PNG"
    options = save_options(image_format, jpeg_quality)
    atomic_write(target, lambda handle: image.save(handle, format=image_format, **options))


def comparison_panel(original: Image.Image, colorized: Image.Image) -> Image.Image:
    """gray input | colorized | truth (the last only when the input had colour)."""
    gray = original.convert("L").convert("RGB")
    panels = [gray, colorized] + ([original] if has_colour(np.asarray(original)) else [])
    width, height = original.size
    canvas = Image.new("RGB", (width * len(panels), height), (255, 255, 255))
    for index, panel in enumerate(panels):
        canvas.paste(panel, (index * width, 0))
    return canvas
