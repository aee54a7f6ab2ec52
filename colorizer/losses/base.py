"""What every loss term sees, and the term interface the composite combines."""

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn
from torch.optim import Optimizer

from colorizer.color import rebuild_rgb
from colorizer.color.bins import AbClasses


@dataclass
class LossInputs:
    """One batch as the loss terms see it.

    L: [B,1,H,W] normalised luminance; pred_ab / true_ab: [B,2,H,W] in about [-1, 1];
    kl: the net's KL divergence (scalar) or None for a non-variational net;
    classes: the bin logits of a classification head, or None for a regression head.
    """

    L: torch.Tensor
    pred_ab: torch.Tensor
    true_ab: torch.Tensor
    kl: torch.Tensor | None = None
    classes: AbClasses | None = None

    @cached_property
    def pred_rgb(self) -> torch.Tensor:
        """[B,3,H,W] RGB from true L and predicted ab, unclipped so gradients flow out of gamut."""
        return rebuild_rgb(self.L, self.pred_ab, clip=False)

    @cached_property
    def true_rgb(self) -> torch.Tensor:
        """[B,3,H,W] RGB of the target."""
        return rebuild_rgb(self.L, self.true_ab, clip=False)


class LossTerm(nn.Module):
    """A weighted loss term. `forward` returns the unweighted value, or None where it does not apply;
    `warmup_steps > 0` ramps the weight up from 0, for a term that would mislead an untrained net."""

    # A term that trains a network of its own (a GAN discriminator) says so and provides
    # `configure_optimizer` and `adversary_loss`; the LightningModule then optimises manually.
    trains_own_network: bool = False

    def __init__(self, weight: float = 1.0, warmup_steps: int = 0) -> None:
        super().__init__()
        self.weight = weight
        self.warmup_steps = warmup_steps

    def weight_at(self, step: int) -> float:
        """The weight at a global training step: ramped linearly from 0 over `warmup_steps`, then constant."""
        if self.warmup_steps <= 0:
            return self.weight
        return self.weight * min(1.0, step / self.warmup_steps)

    def forward(self, inputs: LossInputs) -> torch.Tensor | None:
        raise NotImplementedError

    def configure_optimizer(self) -> Optimizer:
        """The optimiser of the term's own network; stepped on `adversary_loss` before each step of the net."""
        raise NotImplementedError(f"{type(self).__name__} trains no network of its own.")

    def adversary_loss(self, inputs: LossInputs) -> torch.Tensor:
        """The loss of the term's own network on a batch."""
        raise NotImplementedError(f"{type(self).__name__} trains no network of its own.")
