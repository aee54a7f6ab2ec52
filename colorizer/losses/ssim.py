"""SSIM loss on RGB rebuilt from the true L and the predicted ab."""

import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from colorizer.losses.base import LossInputs, LossTerm


class SSIMLoss(LossTerm):
    """1 - SSIM(pred_rgb, true_rgb) with a fixed data range of 1."""

    def __init__(self, weight: float = 1.0, kernel_size: int = 11) -> None:
        super().__init__(weight)
        self.kernel_size = kernel_size

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        ssim = structural_similarity_index_measure(
            inputs.pred_rgb, inputs.true_rgb, data_range=1.0, kernel_size=self.kernel_size
        )
        return 1.0 - ssim
