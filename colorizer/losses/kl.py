"""KL divergence of a variational net's latent, with an optional linear warm-up."""

import torch

from colorizer.losses.base import LossInputs, LossTerm


class KLDivergenceLoss(LossTerm):
    """Passes on the net's KL (mean over the batch of the sum over latent dims).

    Absent (None) for nets that have no latent distribution, so any model works with any loss.
    `warmup_steps > 0` ramps the weight linearly from 0, which keeps the KL from collapsing
    the latent before the decoder has learned anything.
    """

    def __init__(self, weight: float = 1.0, warmup_steps: int = 0) -> None:
        super().__init__(weight, warmup_steps)

    def forward(self, inputs: LossInputs) -> torch.Tensor | None:
        return inputs.kl
