"""A weighted sum of loss terms that reports every term on its own."""

from dataclasses import dataclass

import torch
from torch import nn

from colorizer.losses.base import LossInputs, LossTerm


@dataclass
class LossResult:
    """`total`: the weighted sum to optimise; `terms`: each applicable term, unweighted."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor]


class CompositeLoss(nn.Module):
    """Sum of `weight * term` over the terms given by name (`CompositeLoss(mse=MSELoss())`).

    A term that does not apply to the net (KL for a deterministic net) is skipped, not an error;
    so is a term of weight 0, which is neither computed nor logged (presets list optional terms
    that way: `loss.mse.weight=0.1` switches one on).
    """

    def __init__(self, **terms: LossTerm) -> None:
        super().__init__()
        if not terms:
            raise ValueError("A loss needs at least one term, e.g. loss=mse or loss=composite.")
        self.terms = nn.ModuleDict(terms)

    def forward(self, inputs: LossInputs, step: int = 0) -> LossResult:
        values: dict[str, torch.Tensor] = {}
        total = inputs.pred_ab.new_zeros((), dtype=torch.float32)
        for name, term in self.terms.items():
            if term.weight == 0:
                continue
            value = term(inputs)
            if value is None:
                continue
            values[name] = value
            total = total + term.weight_at(step) * value
        if not values:
            raise ValueError(
                f"None of the loss terms {list(self.terms)} applies to this model (a classification loss needs "
                "model/head=classification; a regression head needs a term on ab or RGB)."
            )
        return LossResult(total=total, terms=values)

    def adversaries(self) -> dict[str, LossTerm]:
        """The terms that train a network of their own, each with its own optimiser."""
        return {name: term for name, term in self.terms.items() if term.weight != 0 and term.trains_own_network}
