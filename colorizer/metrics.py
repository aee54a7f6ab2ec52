"""Colorization metrics, computed per image and averaged, next to the gray baseline (ab = 0).

torchmetrics provides PSNR, SSIM, MAE and the running means; what it lacks (ab RMSE, ΔE,
Hasler-Süsstrunk colorfulness) is a few lines of tensor code fed into `MeanMetric`.
"""

import torch
from kornia.color import rgb_to_lab
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanMetric, R2Score
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from colorizer.color import AB_SCALE, gray_rgb, rebuild_rgb


def rmse_ab_per_image(pred_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
    """Root mean squared ab error in Lab units, per image: [B,2,H,W] x2 (normalised) -> [B]."""
    diff = (pred_ab.float() - true_ab.float()) * AB_SCALE
    return diff.pow(2).mean(dim=(1, 2, 3)).sqrt()


def delta_e76_per_image(pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> torch.Tensor:
    """Mean CIE76 colour difference (Euclidean distance in Lab), per image: [B,3,H,W] x2 -> [B]."""
    diff = rgb_to_lab(pred_rgb.float()) - rgb_to_lab(true_rgb.float())
    return diff.pow(2).sum(dim=1).sqrt().mean(dim=(1, 2))


def colorfulness_per_image(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Süsstrunk (2003) colorfulness on the 0-255 scale, per image: [B,3,H,W] -> [B]."""
    r, g, b = (rgb.float() * 255.0).unbind(dim=1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    spread = (rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False)).sqrt()
    mean = (rg.mean(dim=1).pow(2) + yb.mean(dim=1).pow(2)).sqrt()
    return spread + 0.3 * mean


class ColorizationMetrics(nn.Module):
    """Accumulates every reported metric over an epoch; `compute()` also gives `psnr_gain`.

    PSNR is reduced per image (`dim=(1,2,3)`) and both PSNR and SSIM get an explicit
    `data_range`, otherwise torchmetrics pools errors over the epoch or guesses the range
    from each batch. ΔE is CIE76 on the displayed (gamut-clipped) prediction.
    """

    def __init__(self) -> None:
        super().__init__()

        def psnr() -> PeakSignalNoiseRatio:
            return PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3), reduction="elementwise_mean")

        def ssim() -> StructuralSimilarityIndexMeasure:
            return StructuralSimilarityIndexMeasure(data_range=1.0)

        self.image_metrics = nn.ModuleDict(
            {"psnr": psnr(), "ssim": ssim(), "mae": MeanAbsoluteError(), "gray_psnr": psnr(), "gray_ssim": ssim()}
        )
        # R² of ab over all pixels of the epoch (report 004), averaged over the a and b channels.
        self.r2_ab = R2Score(multioutput="uniform_average")
        self.means = nn.ModuleDict(
            {name: MeanMetric() for name in ("rmse_ab", "delta_e", "colorfulness", "colorfulness_true", "gray_rmse_ab")}
        )

    @torch.no_grad()
    def update(self, L: torch.Tensor, pred_ab: torch.Tensor, true_ab: torch.Tensor) -> None:
        """Add a batch: normalised L [B,1,H,W], predicted and true ab [B,2,H,W]. Computed in
        fp32 even when called under bf16 autocast (SSIM's convolutions would otherwise run in bf16)."""
        with torch.autocast(L.device.type, enabled=False):
            self._update(L.float(), pred_ab.float(), true_ab.float())

    def _update(self, L: torch.Tensor, pred_ab: torch.Tensor, true_ab: torch.Tensor) -> None:
        pred_rgb = rebuild_rgb(L, pred_ab)
        true_rgb = rebuild_rgb(L, true_ab)
        baseline_rgb = gray_rgb(L)
        self.image_metrics["psnr"].update(pred_rgb, true_rgb)
        self.image_metrics["ssim"].update(pred_rgb, true_rgb)
        self.image_metrics["mae"].update(pred_rgb, true_rgb)
        self.image_metrics["gray_psnr"].update(baseline_rgb, true_rgb)
        self.image_metrics["gray_ssim"].update(baseline_rgb, true_rgb)
        self.r2_ab.update(
            pred_ab.float().permute(0, 2, 3, 1).reshape(-1, 2), true_ab.float().permute(0, 2, 3, 1).reshape(-1, 2)
        )
        self.means["rmse_ab"].update(rmse_ab_per_image(pred_ab, true_ab))
        self.means["gray_rmse_ab"].update(rmse_ab_per_image(torch.zeros_like(true_ab), true_ab))
        self.means["delta_e"].update(delta_e76_per_image(pred_rgb, true_rgb))
        self.means["colorfulness"].update(colorfulness_per_image(pred_rgb))
        self.means["colorfulness_true"].update(colorfulness_per_image(true_rgb))

    def compute(self) -> dict[str, torch.Tensor]:
        values = {name: metric.compute() for name, metric in self.image_metrics.items()}
        values.update({name: metric.compute() for name, metric in self.means.items()})
        values["r2_ab"] = self.r2_ab.compute()
        values["psnr_gain"] = values["psnr"] - values["gray_psnr"]
        return values

    def reset(self) -> None:
        for metric in [*self.image_metrics.values(), *self.means.values(), self.r2_ab]:
            metric.reset()
