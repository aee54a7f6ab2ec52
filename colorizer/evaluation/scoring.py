"""Scoring checkpoints and baselines on the same images, in one pass over the data."""

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from colorizer.atomic import atomic_write_text
from colorizer.color import rebuild_rgb
from colorizer.data.base import ColorizationDataModule
from colorizer.data.hints import fixed_hints
from colorizer.data.transforms import lab_batch
from colorizer.evaluation.fid import FidFeatures, ReferenceFeatures, frechet_distance
from colorizer.evaluation.metrics import ColorizationMetrics
from colorizer.evaluation.plots import HINTS_PLOT, hint_curves, plot_hint_curves, plot_tradeoff
from colorizer.models.base import ColorizationNet
from colorizer.models.baselines import GrayBaseline, MeanAbBaseline

TABLE_COLUMNS = (
    "psnr",
    "ssim",
    "mae",
    "rmse_ab",
    "delta_e",
    "colorfulness",
    "colorfulness_ratio",
    "ab_jsd",
    "psnr_gain",
)
# Shown after those when scored: the Fréchet distance under its extractor's name (colorizer.evaluation.fid).
FID_COLUMNS = ("fid", "fid_elite0")


@dataclass
class WorstImages:
    """While scoring: the `limit` images with the lowest psnr for the ranking model, with every
    model's prediction, so that the report shows them without running the models again."""

    limit: int
    rows: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.long))  # [K] in split order
    psnr: torch.Tensor = field(default_factory=lambda: torch.empty(0))  # [K] the ranking model's
    ab: dict[str, torch.Tensor] = field(default_factory=dict)  # model -> predicted ab [K,2,H,W]

    def offer(self, rows: torch.Tensor, psnr: torch.Tensor, ab: dict[str, torch.Tensor]) -> None:
        """Add a batch (split rows [B], the ranking model's psnr [B], each model's ab [B,2,H,W]);
        keep the `limit` lowest, worst first."""
        psnr = torch.cat([self.psnr, psnr.float().cpu()])
        keep = torch.argsort(psnr, stable=True)[: self.limit]
        self.rows, self.psnr = torch.cat([self.rows, rows])[keep], psnr[keep]
        for name, values in ab.items():
            kept = self.ab.get(name, torch.empty(0, *values.shape[1:]))
            self.ab[name] = torch.cat([kept, values.float().cpu()])[keep]


@dataclass
class Evaluation:
    """Summary metrics per model, per-image psnr / ssim / delta_e / colorfulness per model (in
    split order) and the worst images of the first model with every prediction (none unless asked for)."""

    split: str
    names: list[str]
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    per_image: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    worst: WorstImages = field(default_factory=lambda: WorstImages(0))


def reference_key(net: torch.nn.Module, hint_count: int) -> str | None:
    """The name under which a row's FID features are kept between evaluations when they depend on
    the data alone (gray; a constant colour, by its value), else None (a model's own)."""
    if hint_count:
        return None
    if isinstance(net, GrayBaseline):  # with no hints to paste, gray
        return "gray"
    if isinstance(net, MeanAbBaseline):
        return "mean_ab_" + "_".join(f"{value:.6f}" for value in net.mean_ab.tolist())
    return None


@dataclass
class FidSetup:
    """How FID is computed: the feature net, bfloat16 autocast for it or not, and where the
    features that depend on the data alone are kept (`ReferenceFeatures`; None: not kept)."""

    features: FidFeatures
    bf16: bool = False
    references: ReferenceFeatures | None = None

    def __call__(self, rgb: torch.Tensor) -> torch.Tensor:
        with torch.autocast(rgb.device.type, torch.bfloat16, enabled=self.bf16):
            return self.features(rgb).float()


class FidDistances:
    """Each model's Fréchet distance to the truth, fed batch by batch: the truth's features once per
    batch for all models, each prediction's once; the features an earlier evaluation of the same
    split kept (the truth, gray, a constant colour) are read instead of computed."""

    def __init__(
        self, fid: FidSetup, models: dict[str, torch.nn.Module], hint_counts: dict[str, int], device: torch.device
    ) -> None:
        fid.features.prepare(device, fid.bf16)
        self.fid = fid
        self.distances = {name: frechet_distance(fid.features.num_features).to(device) for name in models}
        self.keys = {name: reference_key(net, hint_counts.get(name, 0)) for name, net in models.items()}
        kept = fid.references.cached if fid.references else lambda key: None
        self.stored = {name: kept(key) if key else None for name, key in self.keys.items()}
        self.true_stored = kept("truth")

    def update(self, batch: dict[str, torch.Tensor], predictions: dict[str, torch.Tensor]) -> None:
        true_features = None
        if self.true_stored is None:
            true_features = self.fid(rebuild_rgb(batch["L"], batch["ab"]))
            if self.fid.references:
                self.fid.references.add("truth", true_features)
        for name, pred_ab in predictions.items():
            if true_features is not None:
                self.distances[name].update(true_features, real=True)
            if self.stored[name] is not None:
                continue
            features = self.fid(rebuild_rgb(batch["L"], pred_ab))
            self.distances[name].update(features, real=False)
            if self.fid.references and self.keys[name]:
                self.fid.references.add(self.keys[name], features)

    def compute(self) -> dict[str, float]:
        """Each model's distance, the kept features added; the newly computed ones kept."""
        for name, distance in self.distances.items():
            if self.true_stored is not None:
                distance.update(self.true_stored.to(distance.device), real=True)
            if self.stored[name] is not None:
                distance.update(self.stored[name].to(distance.device), real=False)
        if self.fid.references:
            self.fid.references.save()
        return {name: float(distance.compute()) for name, distance in self.distances.items()}


@torch.no_grad()
def evaluate_models(
    models: dict[str, ColorizationNet],
    datamodule: ColorizationDataModule,
    split: str,
    device: torch.device,
    keep_worst: int = 0,
    fid: FidSetup | None = None,
    hint_counts: dict[str, int] | None = None,
    hint_seed: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> Evaluation:
    """Score every model on the same batches of `split`; with `keep_worst`, also keep that many
    images the first model does worst on (lowest psnr) with every model's prediction; with `fid`,
    each model's Fréchet distance to the true images in its features (`fid.features.label`).
    `on_batch(images)` is called after each batch (a progress bar).

    `hint_counts` gives some models that many hints per image, drawn from the truth with
    `hint_seed` and each image's name (`colorizer.data.hints.fixed_hints`): every model with the
    same count meets the same points. A net without hints ignores them."""
    hint_counts = hint_counts or {}
    names = datamodule.split_names(split)
    metrics = {name: ColorizationMetrics().to(device) for name in models}
    distances = FidDistances(fid, models, hint_counts, device) if fid else None
    scores: dict[str, dict[str, list[torch.Tensor]]] = {name: {} for name in models}
    worst = WorstImages(keep_worst)
    ranking_model, seen = next(iter(models)), 0
    for images in datamodule.loader(split):
        batch = lab_batch(images.to(device))
        batch_names = names[seen : seen + len(images)]
        hints = {n: fixed_hints(batch["ab"], batch_names, n, hint_seed) for n in set(hint_counts.values()) if n}
        predictions = {name: net(batch["L"], hints.get(hint_counts.get(name, 0))) for name, net in models.items()}
        if distances is not None:
            distances.update(batch, predictions)
        for name, pred_ab in predictions.items():
            scored = metrics[name].update(batch["L"], pred_ab, batch["ab"])
            for key, value in scored.items():
                scores[name].setdefault(key, []).append(value.cpu())
        if keep_worst > 0:
            rows = torch.arange(seen, seen + len(images))
            worst.offer(rows, scores[ranking_model]["psnr"][-1], predictions)
        seen += len(images)
        if on_batch is not None:
            on_batch(len(images))
    evaluation = Evaluation(split=split, names=names, worst=worst)
    fids = distances.compute() if distances is not None else {}
    for name in models:
        evaluation.summary[name] = {k: float(v) for k, v in metrics[name].compute().items()}
        if name in fids:
            evaluation.summary[name][fid.features.label] = fids[name]
        evaluation.per_image[name] = {k: torch.cat(v) for k, v in scores[name].items()}
    return evaluation


def table_columns(summary: dict[str, dict[str, float]]) -> tuple[str, ...]:
    """TABLE_COLUMNS, then the FID columns every model has."""
    fid = tuple(c for c in FID_COLUMNS if summary and all(c in values for values in summary.values()))
    return TABLE_COLUMNS + fid


def format_value(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def markdown_table(summary: dict[str, dict[str, float]]) -> str:
    """One row per model, with the columns of `table_columns`, as a markdown table."""
    columns = table_columns(summary)
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, values in summary.items():
        lines.append(f"| {name} | " + " | ".join(format_value(values[c]) for c in columns) + " |")
    return "\n".join(lines)


def write_results(evaluation: Evaluation, directory: Path, extra: dict | None = None) -> None:
    """metrics.json (everything), metrics.csv, metrics.md (the table), tradeoff.png and, with rows
    at several hint counts, hints.png in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = {"split": evaluation.split, "num_images": len(evaluation.names), "models": evaluation.summary}
    payload.update(extra or {})
    atomic_write_text(directory / "metrics.json", json.dumps(payload, indent=2))
    buffer = io.StringIO()
    columns = sorted({key for values in evaluation.summary.values() for key in values})
    writer = csv.writer(buffer)
    writer.writerow(["model", *columns])
    for name, values in evaluation.summary.items():
        writer.writerow([name, *(values[c] for c in columns)])
    (directory / "metrics.csv").write_text(buffer.getvalue())
    (directory / "metrics.md").write_text(markdown_table(evaluation.summary) + "\n")
    plot_tradeoff(evaluation.summary, directory / "tradeoff.png")
    if hint_curves(evaluation.summary):
        plot_hint_curves(evaluation.summary, directory / HINTS_PLOT)
