"""Per-pixel regression terms on normalised ab."""

import torch
import torch.nn.functional as F

from colorizer.losses.base import LossInputs, LossTerm


class CharbonnierLoss(LossTerm):
    """mean(sqrt((pred - true)^2 + eps^2)): L2 near zero, L1 for large errors. Minimum is eps."""

    def __init__(self, weight: float = 1.0, eps: float = 1e-3) -> None:
        super().__init__(weight)
        self.eps = eps

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        diff = inputs.pred_ab.float() - inputs.true_ab.float()
        return torch.sqrt(diff * diff + self.eps**2).mean()


class MSELoss(LossTerm):
    """Mean squared error of ab."""

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        return F.mse_loss(inputs.pred_ab.float(), inputs.true_ab.float())


class L1Loss(LossTerm):
    """Mean absolute error (L1) of ab."""

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        return F.l1_loss(inputs.pred_ab.float(), inputs.true_ab.float())


class CosineLoss(LossTerm):
    """1 - cosine similarity of predicted and true ab vectors per pixel, averaged.

    The denominator is clamped at `eps`, so gray pixels (ab = 0) give a finite loss of 1.
    """

    def __init__(self, weight: float = 1.0, eps: float = 1e-6) -> None:
        super().__init__(weight)
        self.eps = eps

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        pred, true = inputs.pred_ab.float(), inputs.true_ab.float()
        dot = (pred * true).sum(dim=1)
        norms = (pred.norm(dim=1) * true.norm(dim=1)).clamp_min(self.eps)
        return (1.0 - dot / norms).mean()
