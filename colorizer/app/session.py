"""What the page does with one photo, without the page: colorize it with every loaded model at
full resolution (the pipeline of `colorizer.predict`, original L kept, alpha given back) and,
when it had colour, score each result and the gray baseline against it."""

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorizer.color import AB_SCALE, rebuild_rgb
from colorizer.color.srgb_table import lightness, srgb_table
from colorizer.data.images import has_colour, open_photo, with_alpha
from colorizer.inference import TrainedColorizer, colorize_prepared, full_resolution_image, prepare_image
from colorizer.inference.hint_points import user_hints
from colorizer.models.heads import temperature_of

GRAY = "gray"


@dataclass
class ColorizedPhoto:
    """One photo through every model. `scores` (label or "gray" -> psnr, ssim, delta_e,
    colorfulness) is empty when the photo had no colour to compare with; `automatic_scores`
    holds, for each model that took the hints, its scores without them."""

    gray: Image.Image
    results: dict[str, Image.Image]
    original: Image.Image | None
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    automatic_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class LikelyColour:
    """One of the most likely colours a classification model sees at a pixel."""

    hex: str
    probability: float


def _as_batch(image: Image.Image) -> torch.Tensor:
    """'RGB' image -> [1,3,H,W] in [0, 1]."""
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0


class PhotoColorizer:
    """Models loaded once, shared by every request; `temperature` re-decodes the classification models."""

    def __init__(
        self,
        models: dict[str, TrainedColorizer],
        device: torch.device,
        bf16: bool = False,
        table_dir: Path | None = None,
    ) -> None:
        self.models = models
        self.device = device
        self.bf16 = bf16
        self.table = srgb_table(table_dir).to(device)
        self.trained_temperatures = {label: temperature_of(m.net) for label, m in models.items()}

    @property
    def takes_hints(self) -> bool:
        return any(model.net.hints for model in self.models.values())

    @property
    def classifier(self) -> str | None:
        """The label of the first classification model (whose colour distribution the page offers)."""
        return next((label for label, t in self.trained_temperatures.items() if t is not None), None)

    @property
    def default_temperature(self) -> float | None:
        """The trained temperature of the first classification model, None when all regress."""
        return next((t for t in self.trained_temperatures.values() if t is not None), None)

    def colorize_file(
        self, path: str | Path, temperature: float | None = None, points: list[dict] | None = None
    ) -> ColorizedPhoto:
        """Colour the photo with every model, the models that take hints with `points` (in the
        photo's pixels: `colorizer.inference.hint_points`). Raises ImageDecodeError when `path` is not
        a readable image and HintError for a bad point."""
        started = time.perf_counter()
        photo, alpha = open_photo(path)
        _, level = lightness(np.asarray(photo))
        gray = full_resolution_image(level.to(self.device), torch.zeros(1, 2, 1, 1, device=self.device), self.table)
        results, automatic = {}, {}
        for label, model in self.models.items():
            # A regression net has no temperature to set: it decodes as it was trained.
            chosen = temperature if self.trained_temperatures[label] is not None else None
            alone = prepare_image(photo, None, model.image_size)
            if points and model.net.hints:  # the same L and input, with the hint channels added
                hinted = replace(alone, hints=user_hints(points, photo.size, model.image_size))
                results[label] = colorize_prepared(model, hinted, self.table, self.device, self.bf16, chosen)
                automatic[label] = colorize_prepared(model, alone, self.table, self.device, self.bf16, chosen)
            else:
                results[label] = colorize_prepared(model, alone, self.table, self.device, self.bf16, chosen)
        colourful = has_colour(np.asarray(photo))
        scores, automatic_scores = {}, {}
        if colourful:
            # Scoring needs torchmetrics: loaded on the first colour photo, not when the page starts.
            from colorizer.evaluation.metrics import image_scores

            truth = _as_batch(photo)

            def scored(image: Image.Image) -> dict[str, float]:
                return {k: float(v[0]) for k, v in image_scores(_as_batch(image), truth).items()}

            scores = {label: scored(image) for label, image in {GRAY: gray, **results}.items()}
            automatic_scores = {label: scored(image) for label, image in automatic.items()}
        return ColorizedPhoto(
            gray=with_alpha(gray, alpha),
            results={label: with_alpha(image, alpha) for label, image in results.items()},
            original=with_alpha(photo, alpha) if colourful else None,
            scores=scores,
            automatic_scores=automatic_scores,
            seconds=time.perf_counter() - started,
        )

    @torch.no_grad()
    def likely_colours(
        self, path: str | Path, x: float, y: float, points: list[dict] | None = None, count: int = 5
    ) -> list[LikelyColour]:
        """The `count` most likely colours at pixel (x, y) of the photo for the first
        classification model (Zhang et al.'s data-driven palette: the top bins of its predicted
        distribution there, at the pixel's lightness), given the hints so far; none without one."""
        if self.classifier is None:
            return []
        model = self.models[self.classifier]
        photo, _ = open_photo(path)
        prepared = prepare_image(photo, None, model.image_size, points if model.net.hints else None)
        size = model.image_size
        inputs = prepared.model_input.to(self.device)
        hints = None if prepared.hints is None else prepared.hints.to(self.device)
        output = model.net.colorize(inputs, hints)
        width, height = photo.size
        row, column = min(int(y * size / height), size - 1), min(int(x * size / width), size - 1)
        probabilities = output.classes.logits[0, :, row, column].float().softmax(0)
        top = probabilities.topk(min(count, len(probabilities)))
        ab = output.classes.centres[top.indices].T.reshape(1, 2, -1, 1) / AB_SCALE
        rgb = rebuild_rgb(inputs[:, :, row : row + 1, column : column + 1].expand(1, 1, ab.shape[2], 1), ab)
        channels = (rgb[0, :, :, 0].T * 255).round().to(torch.uint8).tolist()
        hexes = ["#" + "".join(f"{v:02x}" for v in channel) for channel in channels]
        return [LikelyColour(h, float(p)) for h, p in zip(hexes, top.values, strict=True)]


def score_line(scores: dict[str, float]) -> str:
    return (
        f"psnr {scores['psnr']:.2f} dB · ssim {scores['ssim']:.3f} · ΔE {scores['delta_e']:.1f} · "
        f"colorfulness {scores['colorfulness']:.1f}"
    )
