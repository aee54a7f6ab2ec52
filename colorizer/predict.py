"""`python -m colorizer.predict`: colorize photos at their full resolution (`PredictPipeline`) and videos
(`colorizer.video`), frame by frame with colour steadied over time."""

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig
from rich.progress import Progress

from colorizer.cli import one_line_errors
from colorizer.config import register_resolvers
from colorizer.data.images import IMAGE_EXTENSIONS
from colorizer.device import resolve_device, use_bf16
from colorizer.inference import load_colorizer
from colorizer.inference.checkpoints import checkpoint_paths
from colorizer.inference.hint_points import HintError, read_hint_file
from colorizer.inference.outputs import Job, PredictSummary, find_inputs, plan_jobs
from colorizer.inference.pipeline import OutputSettings, PredictPipeline
from colorizer.video import VIDEO_EXTENSIONS, is_video


def checked_hints(
    hints_file: str | None, takes_hints: bool, ckpt_path: str, base: Path, files: list[Path]
) -> dict[str, list]:
    """The hints file's points by input (none without a file). Raises HintError when the
    checkpoint takes no hints or the file names an input that is not there."""
    if not hints_file:
        return {}
    hints = read_hint_file(hints_file)
    if not takes_hints:
        raise HintError(
            f"hints_file={hints_file}: {ckpt_path} was trained without hints. Use a checkpoint trained with "
            "model.hints=true (e.g. experiment=landscape_hints), or leave hints out."
        )
    unknown = sorted(set(hints) - {f.relative_to(base).as_posix() for f in files})
    if unknown:
        raise HintError(
            f"hints_file={hints_file} names {', '.join(unknown[:3])}, not among the inputs under {base} "
            "(keys are paths relative to input=, or the file name for a single file)."
        )
    return hints


def run_predict(cfg: DictConfig) -> PredictSummary:
    """Colorize `cfg.input` (a file or folder) into `cfg.output`; returns what was written, skipped and failed."""
    device = resolve_device(cfg.device)
    (ckpt_path,) = checkpoint_paths(cfg.ckpt_path)
    model = load_colorizer(ckpt_path, device, cfg.get("temperature"))
    base, files = find_inputs(Path(cfg.input).expanduser(), cfg.recursive, IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
    output = Path(cfg.output).expanduser()
    summary = PredictSummary()
    jobs = plan_jobs(base, files, output, cfg.overwrite, summary)
    videos = [job for job in jobs if is_video(job.source)]
    photos = [job for job in jobs if not is_video(job.source)]
    settings = OutputSettings(
        output / "compare" if cfg.compare else None,
        cfg.jpeg_quality,
        Path(cfg.paths.cache_dir).expanduser(),
        checked_hints(cfg.hints_file, model.net.hints, ckpt_path, base, files),
        cfg.hint_side,
    )
    pipeline = PredictPipeline(model, device, cfg.batch_size, use_bf16(cfg.precision, device), settings)
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        pipeline.run(photos, summary, progress)
        if videos:
            colour_videos_or_explain(videos, pipeline, cfg, summary, progress)
    return summary


def colour_videos_or_explain(
    jobs: list[Job], photos: PredictPipeline, cfg: DictConfig, summary: PredictSummary, progress: Progress
) -> None:
    """Colour the video jobs with `cfg.video`'s options (`colorizer.video`), with the model, device,
    colour table and precision the photos' pipeline has; without the video extra, each fails
    saying what to install."""
    try:
        from colorizer.video.colorize import VideoColorizer, colour_videos
        from colorizer.video.files import VideoOptions
    except ImportError as error:
        reason = f"videos need PyAV and OpenCV ({error.name} is missing): pip install 'colorizer[video]'"
        summary.failed.extend((job.source, reason) for job in jobs)
        return
    colorizer = VideoColorizer(
        photos.model,
        photos.device,
        photos.table,
        VideoOptions(**cfg.video),
        cfg.batch_size,
        photos.bf16,
        photos.output.hint_side,
    )
    colour_videos(jobs, colorizer, summary, progress, photos.output.hints)


register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    with one_line_errors("colorizer.predict"):
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
