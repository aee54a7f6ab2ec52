"""Colour as classification: cross-entropy against the soft-encoded truth, class-rebalanced."""

import torch
import torch.nn.functional as F

from colorizer.color import AB_SCALE
from colorizer.color.bins import rebalancing_weights, soft_encode
from colorizer.losses.base import LossInputs, LossTerm


class RebalancedCrossEntropyLoss(LossTerm):
    """Zhang et al. (2016): per pixel, cross-entropy between the head's bin distribution and the
    true ab soft-encoded over its `neighbours` nearest bins (Gaussian `sigma`, Lab units), weighted
    by the rebalancing weight of the pixel's nearest bin (prior mixed with uniform by
    `uniform_mix` = λ). Absent (None) for regression heads.
    """

    def __init__(self, weight: float = 1.0, neighbours: int = 5, sigma: float = 5.0, uniform_mix: float = 0.5) -> None:
        super().__init__(weight)
        self.neighbours = neighbours
        self.sigma = sigma
        self.uniform_mix = uniform_mix

    def forward(self, inputs: LossInputs) -> torch.Tensor | None:
        classes = inputs.classes
        if classes is None:
            return None
        indices, weights = soft_encode(inputs.true_ab * AB_SCALE, classes.centres, self.neighbours, self.sigma)
        # Bins last: a view of channels-last logits, so log_softmax does not copy them first.
        log_probabilities = F.log_softmax(classes.logits.permute(0, 2, 3, 1).float(), dim=-1)  # [B,H,W,Q]
        picked = log_probabilities.gather(-1, indices.permute(0, 2, 3, 1))
        cross_entropy = -(weights.permute(0, 2, 3, 1) * picked).sum(dim=-1)  # [B,H,W]
        pixel_weights = rebalancing_weights(classes.prior, self.uniform_mix)[indices[:, 0]]
        return (pixel_weights * cross_entropy).mean()
