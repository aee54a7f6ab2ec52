"""`python -m colorizer.evaluate`: checkpoints and baselines side by side on the same images."""

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from rich.progress import Progress

from colorizer.cli import one_line_errors
from colorizer.config import register_resolvers
from colorizer.data.base import ColorizationDataModule
from colorizer.device import resolve_device, use_bf16
from colorizer.evaluation.fid import ReferenceFeatures, fid_features
from colorizer.evaluation.report import write_html_report
from colorizer.evaluation.scoring import Evaluation, FidSetup, evaluate_models, markdown_table, write_results
from colorizer.inference import load_colorizers
from colorizer.models import GrayBaseline, MeanAbBaseline
from colorizer.models.base import ColorizationNet
from colorizer.models.encoders import EncoderWeightsError
from colorizer.models.heads import AtTemperature, temperature_of

log = logging.getLogger(__name__)


def at_temperatures(label: str, net: ColorizationNet, temperatures: list[float]) -> dict[str, torch.nn.Module]:
    """The net under `label`, or for a classification net with `temperatures`, the same net
    decoding at each, labelled `label@T=<t>` (regression nets have no temperature: kept as they are)."""
    if not temperatures or temperature_of(net) is None:
        return {label: net}
    return {f"{label}@T={t:g}": AtTemperature(net, t) for t in temperatures}


def at_hint_counts(label: str, counts: list[int]) -> dict[str, int]:
    """The rows of a model scored at each of `counts` hints per image, `label@hints=<N>` -> N,
    or just `label` (no hints) without counts."""
    return {f"{label}@hints={n}": n for n in counts} if counts else {label: 0}


def frechet_setup(
    fid: DictConfig, datamodule: ColorizationDataModule, split: str, device: torch.device
) -> FidSetup | None:
    """How FID is computed as `fid` asks, or None when it is off or the split has fewer than
    `fid.min_images` images (a Fréchet distance from a few images says nothing). The truth's,
    gray's and a constant colour's features are kept in the data's cache folder per split."""
    if not fid.enabled:
        return None
    num_images = datamodule.split_size(split)
    if num_images < fid.min_images:
        log.info("FID left out: %d images, fewer than fid.min_images=%d.", num_images, fid.min_images)
        return None
    try:
        features = fid_features(fid.inception_weights)
    except EncoderWeightsError as error:
        if fid.inception_weights:
            raise
        log.warning("FID left out: %s", error)
        return None
    bf16 = use_bf16(fid.precision, device)
    name = f"fid_{features.label}_{'bf16' if bf16 else 'fp32'}"
    references = ReferenceFeatures(lambda key: datamodule.statistics_path(name, key, split=split))
    return FidSetup(features, bf16, references)


def run_evaluation(cfg: DictConfig) -> tuple[Evaluation, dict[str, Any]]:
    """Load the checkpoints, build the data at their image size, score everything, write the files."""
    device = resolve_device(cfg.device)
    paths = ([cfg.ckpt_path] if cfg.ckpt_path else []) + list(cfg.ckpt_paths or [])
    trained = load_colorizers([str(Path(path).expanduser()) for path in paths], device)
    first = next(iter(trained.values()), None)
    sizes = {model.image_size for model in trained.values()}
    image_size = cfg.image_size or (first.image_size if first else cfg.data.image_size)
    if len(sizes) > 1 and not cfg.image_size:
        log.warning("Checkpoints were trained at sizes %s; evaluating all at %d.", sorted(sizes), image_size)
    with open_dict(cfg):
        cfg.data.image_size = image_size
    datamodule = instantiate(cfg.data)
    datamodule.setup()

    models: dict[str, ColorizationNet] = {}
    checkpoints: dict[str, str] = {}
    counts = [int(n) for n in cfg.hint_counts]
    hint_counts: dict[str, int] = {}
    for label, model in trained.items():
        for name, net in at_temperatures(label, model.net, list(cfg.temperatures)).items():
            for row, count in at_hint_counts(name, counts).items():
                models[row], checkpoints[row], hint_counts[row] = net, str(model.path), count
    if cfg.temperatures and not any(temperature_of(net) is not None for net in models.values()):
        raise ValueError(f"temperatures={list(cfg.temperatures)} apply to classification heads; no checkpoint has one.")
    if "gray" in cfg.baselines:
        models["gray"] = GrayBaseline().to(device)
        # The hint patches pasted on gray: what a net's hints must beat.
        for row, count in at_hint_counts("gray", [n for n in counts if n]).items():
            models[row], hint_counts[row] = GrayBaseline(hints=True).to(device), count
    if "mean_ab" in cfg.baselines:
        mean_ab = first.train_mean_ab if first else datamodule.train_mean_ab()
        models["mean_ab"] = MeanAbBaseline(mean_ab.tolist()).to(device).eval()
    if not models:
        raise ValueError("Nothing to evaluate: give ckpt_path=... or ckpt_paths=[...], or keep some baselines.")

    fid = frechet_setup(cfg.fid, datamodule, cfg.split, device)
    keep_worst = cfg.report_max_images if cfg.report else 0
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task(f"scoring {len(models)} rows", total=datamodule.split_size(cfg.split))
        evaluation = evaluate_models(
            models,
            datamodule,
            cfg.split,
            device,
            keep_worst,
            fid,
            hint_counts,
            cfg.hint_seed,
            on_batch=lambda images: progress.advance(task, images),
        )
    output_dir = Path(cfg.paths.output_dir)
    extra = {"checkpoints": checkpoints, "image_size": image_size}
    if counts:
        extra["hints"] = {"counts": counts, "seed": cfg.hint_seed}
    if fid:
        extra["fid"] = {"label": fid.features.label, "num_images": len(evaluation.names), "bf16": fid.bf16}
    write_results(evaluation, output_dir, extra)
    if cfg.report:
        extra["report"] = str(write_html_report(output_dir / "report.html", evaluation, datamodule))
    return evaluation, extra


register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    with one_line_errors("colorizer.evaluate"):
        evaluation, extra = run_evaluation(cfg)
    print(f"{len(evaluation.names)} images ({evaluation.split} split) at {extra['image_size']}x{extra['image_size']}")
    if "fid" in extra:
        print(f"{extra['fid']['label']} over {extra['fid']['num_images']} images")
    print(markdown_table(evaluation.summary))
    print(f"Results in {cfg.paths.output_dir}" + (f"; report: {extra['report']}" if "report" in extra else ""))


if __name__ == "__main__":
    main()
