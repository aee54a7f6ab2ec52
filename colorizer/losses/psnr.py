"""The scores' own objective: each image's PSNR on RGB, averaged over images."""

import torch

from colorizer.losses.base import LossInputs, LossTerm


class PSNRLoss(LossTerm):
    """Minus the mean per-image PSNR (dB) of the RGB rebuilt from the true L and the predicted ab,
    data range 1, the figure `psnr` and `psnr_gain` average. MSE pools the squared error of all
    pixels, so the colourful photos with large errors steer it; the mean PSNR is a mean of
    log errors, where a photo predicted well counts as much as one predicted badly.
    `max_psnr` caps each image's term (an exact prediction would give an infinite one)."""

    def __init__(self, weight: float = 1.0, max_psnr: float = 50.0) -> None:
        super().__init__(weight)
        self.min_mse = 10 ** (-max_psnr / 10)

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        squared = (inputs.pred_rgb.float() - inputs.true_rgb.float()).pow(2).flatten(1).mean(dim=1)  # [B]
        return 10 * torch.log10(squared + self.min_mse).mean()
