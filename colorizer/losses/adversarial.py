"""An adversarial term: a conditional discriminator judges (L, ab) and the net learns to fool it."""

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Optimizer

from colorizer.losses.base import LossInputs, LossTerm

MODES = ("hinge", "lsgan")


class AdversarialLoss(LossTerm):
    """The net's adversarial loss against `discriminator` (the term's value), and the
    discriminator's own loss (`adversary_loss`), trained by its own `optimizer`.

    `mode`: "hinge" (net: -D(fake); D: relu(1 - D(real)) + relu(1 + D(fake))) or "lsgan"
    (net: (D(fake) - 1)²; D: ((D(real) - 1)² + D(fake)²) / 2). The weight ramps up linearly
    over `warmup_steps`, so the net first learns plausible colours from the other terms and
    the discriminator is not fooled by noise. Works with any head: it sees the decoded ab.
    """

    trains_own_network = True

    def __init__(
        self,
        discriminator: nn.Module,
        optimizer: Callable[[Iterable[nn.Parameter]], Optimizer],
        weight: float = 0.01,
        warmup_steps: int = 0,
        mode: str = "hinge",
    ) -> None:
        super().__init__(weight, warmup_steps)
        if mode not in MODES:
            raise ValueError(f"loss.adversarial.mode must be one of {MODES}, got {mode!r}.")
        self.discriminator = discriminator
        self.optimizer_factory = optimizer
        self.mode = mode

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        fake = self.discriminator(inputs.L, inputs.pred_ab).float()
        return -fake.mean() if self.mode == "hinge" else (fake - 1).pow(2).mean()

    def adversary_loss(self, inputs: LossInputs) -> torch.Tensor:
        real = self.discriminator(inputs.L, inputs.true_ab).float()
        fake = self.discriminator(inputs.L, inputs.pred_ab.detach()).float()
        if self.mode == "hinge":
            return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
        return ((real - 1).pow(2).mean() + fake.pow(2).mean()) / 2

    def configure_optimizer(self) -> Optimizer:
        return self.optimizer_factory(self.discriminator.parameters())
