"""Baselines that any real model has to beat, usable wherever a model is (`model=gray|mean_ab`)."""

import torch
from torch import nn

from colorizer.models.base import ColorizationNet
from colorizer.models.outputs import NetOutput


class GrayBaseline(ColorizationNet):
    """Predicts no colour at all (ab = 0): the image stays gray. Nothing to train.

    With `hints=True` it pastes the hint patches' colours and nothing else: what hints are
    worth without a net to spread them."""

    def __init__(self, hints: bool = False) -> None:
        super().__init__(hints=hints)

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        if self.hints:
            return NetOutput(ab=inputs[:, 1:3].contiguous())
        return NetOutput(ab=torch.zeros_like(inputs).expand(-1, 2, -1, -1).contiguous())


class MeanAbBaseline(ColorizationNet):
    """Predicts one constant colour everywhere: the mean normalised ab.

    Its two numbers are parameters, so training it with an MSE loss learns the training set's
    mean ab; `evaluate` instead sets them from the mean stored in a checkpoint.
    """

    def __init__(self, mean_ab: tuple[float, float] | list[float] = (0.0, 0.0)) -> None:
        super().__init__()
        self.mean_ab = nn.Parameter(torch.tensor(list(mean_ab), dtype=torch.float32))

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        ab = self.mean_ab.view(1, 2, 1, 1).to(inputs.dtype).expand(inputs.shape[0], -1, *inputs.shape[-2:])
        return NetOutput(ab=ab.clamp(-1.0, 1.0).contiguous())
