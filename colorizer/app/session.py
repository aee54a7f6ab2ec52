"""What the page does with one photo, without the page: colorize it with every loaded model at
full resolution (the pipeline of `colorizer.predict`, original L kept, alpha given back) and,
when it had colour, score each result and the gray baseline against it."""

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorizer.data.images import has_colour, open_photo, with_alpha
from colorizer.inference import TrainedColorizer, colorize_photo, full_resolution_image
from colorizer.metrics import image_scores
from colorizer.models.heads import set_temperature
from colorizer.srgb_table import lightness, srgb_table

GRAY = "gray"


@dataclass
class ColorizedPhoto:
    """One photo through every model. `scores` (label or "gray" -> psnr, ssim, delta_e,
    colorfulness) is empty when the photo had no colour to compare with."""

    gray: Image.Image
    results: dict[str, Image.Image]
    original: Image.Image | None
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0


def _as_batch(image: Image.Image) -> torch.Tensor:
    """'RGB' image -> [1,3,H,W] in [0, 1]."""
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0


class PhotoColorizer:
    """Models loaded once, shared by every request. `temperature` re-decodes the classification
    models; requests are served one at a time, because a temperature is a setting of the net."""

    def __init__(
        self, models: dict[str, TrainedColorizer], device: torch.device, bf16: bool = False,
        table_dir: Path | None = None,
    ) -> None:  # fmt: skip
        self.models = models
        self.device = device
        self.bf16 = bf16
        self.table = srgb_table(table_dir).to(device)
        self.trained_temperatures = {label: set_temperature(m.net, None) for label, m in models.items()}
        self._lock = threading.Lock()

    @property
    def default_temperature(self) -> float | None:
        """The trained temperature of the first classification model, None when all regress."""
        return next((t for t in self.trained_temperatures.values() if t is not None), None)

    def colorize(self, path: str | Path, temperature: float | None = None) -> ColorizedPhoto:
        """Raises ImageDecodeError when `path` is not a readable image."""
        started = time.perf_counter()
        photo, alpha = open_photo(path)
        _, level = lightness(np.asarray(photo))
        gray = full_resolution_image(level.to(self.device), torch.zeros(1, 2, 1, 1, device=self.device), self.table)
        results = {}
        with self._lock:
            for label, model in self.models.items():
                trained = self.trained_temperatures[label]
                if trained is not None:
                    set_temperature(model.net, trained if temperature is None else temperature)
                results[label] = colorize_photo(model, photo, self.table, self.device, self.bf16)
        colourful = has_colour(np.asarray(photo))
        scores = {}
        if colourful:
            truth = _as_batch(photo)
            for label, image in {GRAY: gray, **results}.items():
                scores[label] = {k: float(v[0]) for k, v in image_scores(_as_batch(image), truth).items()}
        return ColorizedPhoto(
            gray=with_alpha(gray, alpha),
            results={label: with_alpha(image, alpha) for label, image in results.items()},
            original=with_alpha(photo, alpha) if colourful else None,
            scores=scores,
            seconds=time.perf_counter() - started,
        )


def score_line(scores: dict[str, float]) -> str:
    return (
        f"psnr {scores['psnr']:.2f} dB · ssim {scores['ssim']:.3f} · ΔE {scores['delta_e']:.1f} · "
        f"colorfulness {scores['colorfulness']:.1f}"
    )
