"""`python -m benchmarks [--quick]`: how fast the data pipeline, training and prediction are,
and how long training takes to reach a model worth looking at.

One module per section beside this one; here are the modes, the report and the command line.
Every comparison runs side by side and interleaved, and each figure is a median of repeated
measurements. Prints a table and writes the figures as JSON.
"""

import argparse
import contextlib
import importlib.util
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.app import bench_app, format_app
from benchmarks.common import (
    DEFAULT_GENERAL,
    DEFAULT_LANDSCAPES,
    DEFAULT_PHOTOS,
    REPO,
    peak_rss_mb,
    photo_folder,
    synthetic_folder,
)
from benchmarks.gpu import bench_gpu, format_gpu
from benchmarks.loader import bench_loader, format_loader
from benchmarks.modes import MODES, QUALITY_TARGETS, SMOKE_QUALITY_DATA
from benchmarks.prediction import bench_prediction, format_prediction
from benchmarks.scale import bench_scale, format_scale
from benchmarks.serve import bench_serve, format_serve
from benchmarks.start import bench_cache_start, format_cache_start
from benchmarks.time_to_quality import bench_time_to_quality, format_time_to_quality
from benchmarks.training import bench_training, format_training
from benchmarks.video import bench_video, format_video


def header(device: torch.device) -> dict[str, Any]:
    import kornia
    import lightning

    info = {
        "device": torch.cuda.get_device_name(0)
        if device.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()})",
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "kornia": kornia.__version__,
    }
    with contextlib.suppress(OSError, StopIteration):
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line)
    return info


FORMATTERS: dict[str, Callable[[Any], list[str]]] = {
    "loader": format_loader,
    "training": format_training,
    "prediction": format_prediction,
    "cache_start": format_cache_start,
    "scale": format_scale,
    "time_to_quality": format_time_to_quality,
    "app": format_app,
    "serve": format_serve,
    "gpu": format_gpu,
    "video": format_video,
}
SECTIONS = list(FORMATTERS)


def format_report(figures: dict[str, Any]) -> str:
    lines = [f"colorizer bench ({figures['mode']}): " + ", ".join(f"{k} {v}" for k, v in figures["header"].items())]
    lines.append("")
    for name, formatter in FORMATTERS.items():
        if name in figures:
            lines.extend(formatter(figures[name]))
    for name, reason in figures.get("not_run", {}).items():
        lines.append(f"{name}: not run ({reason})")
    lines.append("Seconds per section: " + ", ".join(f"{k} {v:.0f}" for k, v in figures["seconds"].items()))
    lines.append(
        f"Peak RSS of this process: {figures['peak_rss_mb']:,.0f} MB"
        + (f", GPU {figures['peak_gpu_mb']:,.0f} MB" if "peak_gpu_mb" in figures else "")
    )
    return "\n".join(lines)


def run_bench(
    mode: str,
    workdir: Path,
    sections: list[str] | None = None,
    landscapes: Path = DEFAULT_LANDSCAPES,
    serve_overrides: list[str] | None = None,
    photos: Path | None = DEFAULT_PHOTOS,
    general: list[Path] | None = None,
) -> dict:
    """The figures of `sections` (default: the mode's own) measured in `mode` ("smoke", "quick" or
    "full"); `landscapes` is the folder of landscape photos that time to quality trains on;
    `serve_overrides` go to both servers of the serve section; `photos` is the folder of JPEGs that
    prediction, the page, the server and the video clips use (None: synthetic), `general` the
    general photos' folders that time to quality trains its general run on."""
    general = DEFAULT_GENERAL if general is None else general
    settings = MODES[mode]
    chosen = sections or settings["sections"]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    figures: dict[str, Any] = {"mode": mode, "header": header(device), "seconds": {}, "not_run": {}}
    cache = workdir / "cache"
    # The smoke run never reads the shared 7k photos: it must take seconds.
    folder = (
        synthetic_folder(settings["files"], workdir)
        if mode == "smoke"
        else photo_folder(settings["files"], workdir, landscapes)
    )
    if mode == "smoke":
        quality_data = [*SMOKE_QUALITY_DATA, f"data.cache_dir={cache}"]
        general_data = [*quality_data, "data=synthetic", "model.encoder.weights=none"]
    else:
        quality_data = ["data=landscape", f"data.source.root={landscapes.parent}", f"data.cache_dir={cache}"]
        roots = ",".join(str(folder) for folder in general)
        general_data = ["data=folder", f"data.source.root=[{roots}]", f"data.cache_dir={cache}"]
    general_photos = mode == "smoke" or all(folder.is_dir() for folder in general)
    if importlib.util.find_spec("timm") is None or not general_photos:
        general_data = None
        if "time_to_quality" in chosen:
            figures["not_run"]["time_to_quality (general)"] = "needs the encoders extra and ../shared/data's photos"

    measures: dict[str, Callable[[], Any]] = {
        "loader": lambda: {
            str(size): bench_loader(folder, size, 32, settings["naive"], settings["loader_runs"], cache)
            for size in settings["loader_sizes"]
        },
        "training": lambda: bench_training(settings["train"], settings["steps"], device),
        "prediction": lambda: bench_prediction(settings["predict"], settings["predict_runs"], workdir, device, photos),
        "cache_start": lambda: bench_cache_start(folder, cache, workdir, settings["start_runs"]),
        "scale": lambda: bench_scale(settings["scale"], workdir, settings["stream"], settings["steps"]),
        "time_to_quality": lambda: bench_time_to_quality(
            quality_data, QUALITY_TARGETS[mode], workdir, general_data=general_data
        ),
        "app": lambda: bench_app(settings["app"], workdir, device, photos),
        "serve": lambda: bench_serve(
            workdir, device, **settings["serve"], overrides=serve_overrides or [], photos=photos
        ),
        "video": lambda: bench_video(
            workdir / "video", settings["video_frames"], device, photos, settings["predict_runs"]
        ),
        "gpu": lambda: bench_gpu(
            "smoke" if mode == "smoke" else "full", workdir, device, landscapes.parent, quality_data, photos
        ),
    }
    for name in chosen:
        if name == "time_to_quality" and mode != "smoke" and not landscapes.is_dir():
            figures["not_run"][name] = f"{landscapes} is absent; pass --landscapes <folder of landscape photos>"
            continue
        if name == "app" and importlib.util.find_spec("gradio") is None:
            figures["not_run"][name] = "the app extra is not installed: pip install -e '.[app]'"
            continue
        if name == "video" and (importlib.util.find_spec("av") is None or importlib.util.find_spec("cv2") is None):
            figures["not_run"][name] = "the video extra is not installed: pip install -e '.[video]'"
            continue
        if name == "serve" and importlib.util.find_spec("litserve") is None:
            figures["not_run"][name] = "the serve extra is not installed: pip install -e '.[serve]'"
            continue
        start = time.perf_counter()
        figures[name] = measures[name]()
        figures["seconds"][name] = time.perf_counter() - start
    figures["peak_rss_mb"] = peak_rss_mb()
    if device.type == "cuda":
        figures["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Measure colorizer's data pipeline, training and prediction speed, and its time to quality."
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--quick",
        action="store_true",
        help="every speed figure, with fewer repeats and smaller batches: ~7 minutes on 2 CPU cores",
    )
    group.add_argument("--smoke", action="store_true", help="the smallest run that produces every figure")
    parser.add_argument(
        "--sections",
        type=lambda text: text.split(","),
        default=None,
        help=f"comma-separated sections to run (default: the mode's own): {','.join(SECTIONS)}. "
        "time_to_quality trains two models on the landscape photos: about 25 minutes on 2 CPU cores; "
        "gpu is the check for a lent GPU, serve the HTTP load test and soak (neither in any mode's default; "
        "--smoke runs their reduced forms)",
    )
    parser.add_argument(
        "--landscapes",
        type=Path,
        default=DEFAULT_LANDSCAPES,
        help="the folder of landscape photos (Kaggle color/) for the loader and time_to_quality",
    )
    parser.add_argument(
        "--photos",
        type=Path,
        default=DEFAULT_PHOTOS,
        help="a folder of JPEGs (e.g. BSDS500's) for prediction, the page, the server and the video clips; "
        "absent: synthetic landscapes",
    )
    parser.add_argument(
        "--general",
        type=Path,
        nargs="+",
        default=DEFAULT_GENERAL,
        help="the general photos' folders for time_to_quality's general run",
    )
    parser.add_argument(
        "--serve-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a colorizer.serve option for both servers of the serve section, e.g. threads=2 (repeatable)",
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures (default outputs/bench/)")
    args = parser.parse_args()
    unknown = sorted(set(args.sections or []) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory(prefix="colorizer-bench-") as workdir:
        figures = run_bench(
            mode,
            Path(workdir),
            args.sections,
            args.landscapes.expanduser(),
            args.serve_set,
            args.photos.expanduser(),
            [folder.expanduser() for folder in args.general],
        )
    path = args.json or REPO / "outputs" / "bench" / f"bench-{mode}-{time.strftime('%Y-%m-%d_%H-%M-%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2))
    if "gpu" in figures:
        path.with_suffix(".md").write_text("\n".join(format_gpu(figures["gpu"])) + "\n")
    print(format_report(figures))
    print(f"Figures written to {path}")
