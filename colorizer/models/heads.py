"""Heads: how a net's last layer becomes ab. The net builds that layer with `head.channels`
outputs and hands them to the head.

- `RegressionHead`: 2 channels, tanh, ab/110 directly.
- `ClassificationHead`: Q logits per pixel over the quantised ab bins (`colorizer.color.bins`),
  decoded by the annealed mean at `temperature`; it holds the bin centres and the training
  set's bin prior as buffers, so a checkpoint alone can decode and be fine-tuned.
"""

import logging

import torch
from torch import nn

from colorizer.color import AB_SCALE
from colorizer.color.bins import AbClasses, ab_bin_centres, annealed_mean
from colorizer.models.outputs import NetOutput

log = logging.getLogger(__name__)

# The annealed-mean temperature of Zhang et al. 2016: vivid yet spatially coherent colour.
DEFAULT_TEMPERATURE = 0.38


class RegressionHead(nn.Module):
    """ab/110 = tanh(features): [B,2,H,W] -> [B,2,H,W]."""

    channels = 2

    def forward(self, features: torch.Tensor, kl: torch.Tensor | None = None) -> NetOutput:
        return NetOutput(ab=torch.tanh(features), kl=kl)


class ClassificationHead(nn.Module):
    """Bin logits [B,Q,H,W] -> ab/110 [B,2,H,W] by the annealed mean at `temperature`.

    `step`: the ab grid step (Lab units) that sets the bins; `prior_sigma`: the Gaussian that
    smooths the training set's bin histogram into the rebalancing prior (set by `fit_bin_prior`).
    """

    def __init__(self, step: float = 10.0, temperature: float = DEFAULT_TEMPERATURE, prior_sigma: float = 5.0) -> None:
        super().__init__()
        centres = ab_bin_centres(step)
        self.step = step
        self.temperature = temperature
        self.prior_sigma = prior_sigma
        self.channels = len(centres)
        self.register_buffer("centres", centres)
        self.register_buffer("prior", torch.full((len(centres),), 1.0 / len(centres)))

    def forward(self, logits: torch.Tensor, kl: torch.Tensor | None = None) -> NetOutput:
        ab = annealed_mean(logits, self.centres, self.temperature) / AB_SCALE
        return NetOutput(ab=ab, kl=kl, classes=AbClasses(logits=logits, centres=self.centres, prior=self.prior))


def classification_heads(net: nn.Module) -> list[ClassificationHead]:
    return [module for module in net.modules() if isinstance(module, ClassificationHead)]


def fit_bin_priors(net: nn.Module, data: object) -> None:
    """Set every classification head's prior from the training split of `data` (a datamodule
    with `ab_bin_prior`); without one the prior stays uniform and rebalancing does nothing."""
    for head in classification_heads(net):
        if not hasattr(data, "ab_bin_prior"):
            log.warning("The data module cannot compute an ab bin prior: classes are not rebalanced.")
            return
        head.prior.copy_(data.ab_bin_prior(head.centres, head.prior_sigma))


def temperature_of(net: nn.Module) -> float | None:
    """The temperature the net's classification heads decode at, or None for a regression net."""
    heads = classification_heads(net)
    return heads[0].temperature if heads else None


def set_temperature(net: nn.Module, temperature: float) -> None:
    """Decode every classification head at `temperature` from now on; a regression net has none to set."""
    heads = classification_heads(net)
    if not heads:
        raise ValueError(
            f"temperature={temperature} applies to classification heads only; this model regresses ab. "
            "Leave temperature unset (null)."
        )
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = the most likely bin), got {temperature}.")
    for head in heads:
        head.temperature = float(temperature)
