"""Heads: how a net's last layer becomes ab. The net builds that layer with `head.channels`
outputs and hands them to the head.

- `RegressionHead`: 2 channels, tanh, ab/110 directly.
- `ClassificationHead`: Q logits per pixel over the quantised ab bins (`colorizer.color.bins`),
  decoded by the annealed mean at its `temperature` (or at one a caller passes: `at_temperature`);
  it holds the bin centres and the training set's bin prior as buffers, so a checkpoint alone can
  decode and be fine-tuned.
"""

import logging
from dataclasses import replace

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

    def at_temperature(self, output: NetOutput, temperature: float) -> NetOutput:
        raise ValueError(regression_temperature_message(temperature))


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

    def at_temperature(self, output: NetOutput, temperature: float) -> NetOutput:
        """`output` with its ab decoded from the same logits at `temperature` instead of the head's own."""
        check_temperature(temperature)
        return replace(output, ab=annealed_mean(output.classes.logits, self.centres, temperature) / AB_SCALE)


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


def regression_temperature_message(temperature: float) -> str:
    return (
        f"temperature={temperature} applies to classification heads only; this model regresses ab. "
        "Leave temperature unset (null)."
    )


def check_temperature_applies(net: nn.Module, temperature: float | None) -> None:
    """Refuse, before any work, a temperature that `net.colorize` would refuse: one for a
    regression net, or a negative one. None (decode as trained) always applies."""
    if temperature is None:
        return
    if temperature_of(net) is None:
        raise ValueError(regression_temperature_message(temperature))
    check_temperature(temperature)


class AtTemperature(nn.Module):
    """`net` decoding at a fixed `temperature`: a row of evaluate's table, an exported model."""

    def __init__(self, net: nn.Module, temperature: float) -> None:
        super().__init__()
        check_temperature_applies(net, temperature)
        self.net, self.temperature, self.hints = net, float(temperature), net.hints

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(L, hints, self.temperature)


def check_temperature(temperature: float) -> None:
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = the most likely bin), got {temperature}.")
