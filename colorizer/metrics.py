"""Colorization metrics, computed per image and averaged, next to the gray baseline (ab = 0).

torchmetrics provides PSNR, SSIM, MAE and the running means; what it lacks (ab RMSE, ΔE,
Hasler-Süsstrunk colorfulness, the ab histogram divergence) is a few lines of tensor code fed
into `MeanMetric`.

Two metrics see saturation, from two sides. `colorfulness_ratio` (prediction / truth per image)
is 1 for colours as vivid as the truth's, whether right or wrong; `ab_jsd` (Jensen-Shannon
divergence of the image's predicted and true ab histograms over the step-10 bins) is 0 only
when the colours present are the right ones in the right amounts, so it punishes both the
grey average (all mass in the centre bins) and vivid wrong hues.
"""

import torch
from kornia.color import rgb_to_lab
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanMetric, R2Score
from torchmetrics.functional.image import structural_similarity_index_measure
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from colorizer.color import AB_SCALE, gray_rgb, rebuild_rgb
from colorizer.color_bins import ab_bin_centres, bin_histograms, js_divergence

# Below this colorfulness (0-255 scale) a true image counts as this colourful in the ratio, so
# that nearly grey photos do not blow it up.
MIN_TRUE_COLORFULNESS = 1.0


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


def colorfulness_ratio_per_image(pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> torch.Tensor:
    """Colorfulness of the prediction over the truth's, per image: [B,3,H,W] x2 -> [B]."""
    true = colorfulness_per_image(true_rgb).clamp_min(MIN_TRUE_COLORFULNESS)
    return colorfulness_per_image(pred_rgb) / true


def ab_jsd_per_image(pred_ab: torch.Tensor, true_ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (bits, 0..1) between the predicted and true ab histograms over the
    bins with `centres` [Q,2], per image: normalised [B,2,H,W] x2 -> [B]."""
    return js_divergence(bin_histograms(pred_ab * AB_SCALE, centres), bin_histograms(true_ab * AB_SCALE, centres))


def image_scores(pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> dict[str, torch.Tensor]:
    """psnr, ssim, delta_e and colorfulness of each image: RGB in [0, 1] [B,3,H,W] x2 -> four [B]."""
    pred_rgb, true_rgb = pred_rgb.float(), true_rgb.float()
    mse = (pred_rgb - true_rgb).pow(2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
    return {
        "psnr": -10 * torch.log10(mse),
        "ssim": structural_similarity_index_measure(pred_rgb, true_rgb, data_range=1.0, reduction="none"),
        "delta_e": delta_e76_per_image(pred_rgb, true_rgb),
        "colorfulness": colorfulness_per_image(pred_rgb),
    }


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
        # R² of ab over all pixels of the epoch, averaged over the a and b channels.
        self.r2_ab = R2Score(multioutput="uniform_average")
        names = ("rmse_ab", "delta_e", "colorfulness", "colorfulness_true", "colorfulness_ratio", "ab_jsd")
        self.means = nn.ModuleDict({name: MeanMetric() for name in (*names, "gray_rmse_ab", "gray_ab_jsd")})
        self.register_buffer("bin_centres", ab_bin_centres(10.0), persistent=False)

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
        self.means["colorfulness_ratio"].update(colorfulness_ratio_per_image(pred_rgb, true_rgb))
        self.means["ab_jsd"].update(ab_jsd_per_image(pred_ab, true_ab, self.bin_centres))
        self.means["gray_ab_jsd"].update(ab_jsd_per_image(torch.zeros_like(true_ab), true_ab, self.bin_centres))

    def compute(self) -> dict[str, torch.Tensor]:
        values = {name: metric.compute() for name, metric in self.image_metrics.items()}
        values.update({name: metric.compute() for name, metric in self.means.items()})
        values["r2_ab"] = self.r2_ab.compute()
        values["psnr_gain"] = values["psnr"] - values["gray_psnr"]
        return values

    def reset(self) -> None:
        for metric in [*self.image_metrics.values(), *self.means.values(), self.r2_ab]:
            metric.reset()
