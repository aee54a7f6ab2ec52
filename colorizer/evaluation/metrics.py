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
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from colorizer.color import AB_SCALE, gray_rgb, rebuild_rgb
from colorizer.color.bins import ab_bin_centres, bin_histograms, js_divergence

# Below this colorfulness (0-255 scale) a true image counts as this colourful in the ratio, so
# that nearly grey photos do not blow it up.
MIN_TRUE_COLORFULNESS = 1.0
# An exact image (mse 0, an infinite PSNR) counts as mse 1e-10, so that one cannot make a mean inf.
MAX_PSNR = 100.0


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


def ab_jsd_per_image(pred_ab: torch.Tensor, true_ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (bits, 0..1) between the predicted and true ab histograms over the
    bins with `centres` [Q,2], per image: normalised [B,2,H,W] x2 -> [B]."""
    return js_divergence(bin_histograms(pred_ab * AB_SCALE, centres), bin_histograms(true_ab * AB_SCALE, centres))


IMAGE_SCORES = ("psnr", "ssim", "delta_e", "colorfulness")


def _psnr_ssim(pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """PSNR and SSIM of each image (data range 1): RGB [B,3,H,W] x2 -> two [B]."""
    psnr = peak_signal_noise_ratio(pred_rgb, true_rgb, data_range=1.0, reduction="none", dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(pred_rgb, true_rgb, data_range=1.0, reduction="none")
    return psnr.clamp_max(MAX_PSNR), ssim


def image_scores(pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> dict[str, torch.Tensor]:
    """psnr, ssim, delta_e and colorfulness of each image: RGB in [0, 1] [B,3,H,W] x2 -> four [B]."""
    pred_rgb, true_rgb = pred_rgb.float(), true_rgb.float()
    psnr, ssim = _psnr_ssim(pred_rgb, true_rgb)
    return {
        "psnr": psnr,
        "ssim": ssim,
        "delta_e": delta_e76_per_image(pred_rgb, true_rgb),
        "colorfulness": colorfulness_per_image(pred_rgb),
    }


class ColorizationMetrics(nn.Module):
    """Accumulates every reported metric over an epoch; `compute()` also gives `psnr_gain`.

    Each score is computed per image once (PSNR and SSIM with torchmetrics' functional forms and an
    explicit data range, so nothing is pooled over the epoch or guessed per batch) and averaged
    by a `MeanMetric`, which also synchronises DDP ranks. ΔE is CIE76 on the displayed
    (gamut-clipped) prediction.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mae = MeanAbsoluteError()
        # R² of ab over all pixels of the epoch, averaged over the a and b channels.
        self.r2_ab = R2Score(multioutput="uniform_average")
        names = (*IMAGE_SCORES, "rmse_ab", "colorfulness_true", "colorfulness_ratio", "ab_jsd")
        gray = ("gray_psnr", "gray_ssim", "gray_rmse_ab", "gray_ab_jsd")
        self.means = nn.ModuleDict({name: MeanMetric() for name in (*names, *gray)})
        self.register_buffer("bin_centres", ab_bin_centres(10.0), persistent=False)

    @torch.no_grad()
    def update(self, L: torch.Tensor, pred_ab: torch.Tensor, true_ab: torch.Tensor) -> dict[str, torch.Tensor]:
        """Add a batch: normalised L [B,1,H,W], predicted and true ab [B,2,H,W]; returns the
        prediction's `image_scores` ([B] each), so that per-image tables need not compute them
        again. Computed in fp32 even under bf16 autocast (SSIM's convolutions would otherwise run in bf16)."""
        with torch.autocast(L.device.type, enabled=False):
            return self._update(L.float(), pred_ab.float(), true_ab.float())

    def _update(self, L: torch.Tensor, pred_ab: torch.Tensor, true_ab: torch.Tensor) -> dict[str, torch.Tensor]:
        pred_rgb = rebuild_rgb(L, pred_ab)
        true_rgb = rebuild_rgb(L, true_ab)
        scores = image_scores(pred_rgb, true_rgb)
        gray_psnr, gray_ssim = _psnr_ssim(gray_rgb(L), true_rgb)
        per_image = {
            **scores,
            "rmse_ab": rmse_ab_per_image(pred_ab, true_ab),
            "colorfulness_true": colorfulness_per_image(true_rgb),
            "ab_jsd": ab_jsd_per_image(pred_ab, true_ab, self.bin_centres),
            "gray_psnr": gray_psnr,
            "gray_ssim": gray_ssim,
            "gray_rmse_ab": rmse_ab_per_image(torch.zeros_like(true_ab), true_ab),
            "gray_ab_jsd": ab_jsd_per_image(torch.zeros_like(true_ab), true_ab, self.bin_centres),
        }
        per_image["colorfulness_ratio"] = scores["colorfulness"] / per_image["colorfulness_true"].clamp_min(
            MIN_TRUE_COLORFULNESS
        )
        for name, values in per_image.items():
            self.means[name].update(values)
        self.mae.update(pred_rgb, true_rgb)
        self.r2_ab.update(pred_ab.permute(0, 2, 3, 1).reshape(-1, 2), true_ab.permute(0, 2, 3, 1).reshape(-1, 2))
        return scores

    def compute(self) -> dict[str, torch.Tensor]:
        values = {name: metric.compute() for name, metric in self.means.items()}
        values["mae"] = self.mae.compute()
        values["r2_ab"] = self.r2_ab.compute()
        values["psnr_gain"] = values["psnr"] - values["gray_psnr"]
        return values

    def reset(self) -> None:
        for metric in [*self.means.values(), self.mae, self.r2_ab]:
            metric.reset()
