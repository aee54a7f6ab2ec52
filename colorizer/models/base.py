"""The interface every colorization net shares, and the image-size policy.

Size policy: a net declares `size_multiple`, the factor its strided layers divide the image
by. Inputs of any size are reflect-padded on the right and bottom up to the next multiple,
and the output is cropped back, so 64, 150, 160 and 224 all work (150 runs as 160 for the
CAE). Nets with a fixed-size dense layer (the VAE) take `image_size` when they are built.
"""

import torch
import torch.nn.functional as F
from torch import nn

from colorizer.models.heads import RegressionHead
from colorizer.models.outputs import NetOutput


def padded_size(size: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is >= `size`."""
    return -(-size // multiple) * multiple


def pad_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad [B,C,H,W] on the right and bottom so H and W are multiples of `multiple`."""
    height, width = image.shape[-2:]
    pad_h, pad_w = padded_size(height, multiple) - height, padded_size(width, multiple) - width
    if pad_h == 0 and pad_w == 0:
        return image
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(image, (0, pad_w, 0, pad_h), mode=mode)


class ColorizationNet(nn.Module):
    """Maps normalised L [B,1,H,W] to ab [B,2,H,W] in about [-1, 1].

    `head` turns the net's last layer into ab: a subclass builds that layer with
    `self.ab_head.channels` outputs and returns `self.ab_head(features, kl)`. The default is
    regression (2 channels, tanh); a `ClassificationHead` makes any net a bin classifier.

    With `hints=True` the net also takes user hints ([B,3,H,W]: hint ab and mask, see
    `colorizer.data.hints`): `colorize_padded` then gets L and the hints joined, [B,4,H,W]
    (`self.in_channels`), and no hints (None) means an all-zero mask: the automatic colorizer.
    A net without hints ignores any it is given.
    """

    size_multiple: int = 1
    # The learning rate of `pretrained_parameters()` is the optimiser's times this (model.encoder.lr_mult).
    pretrained_lr_mult: float = 1.0

    def __init__(self, head: nn.Module | None = None, hints: bool = False) -> None:
        super().__init__()
        self.ab_head = head if head is not None else RegressionHead()
        self.hints = hints
        self.in_channels = 4 if hints else 1

    def forward(
        self, L: torch.Tensor, hints: torch.Tensor | None = None, temperature: float | None = None
    ) -> torch.Tensor:
        return self.colorize(L, hints, temperature).ab

    def colorize(
        self, L: torch.Tensor, hints: torch.Tensor | None = None, temperature: float | None = None
    ) -> NetOutput:
        """Predict ab (and the KL term, for variational nets) for any input size. `temperature`:
        a classification head decodes at it instead of its own (a regression head refuses one)."""
        height, width = L.shape[-2:]
        inputs = L
        if self.hints:
            hints = L.new_zeros(L.shape[0], 3, height, width) if hints is None else hints.to(L.dtype)
            inputs = torch.cat([L, hints], dim=1)
        output = self.colorize_padded(pad_to_multiple(inputs, self.size_multiple)).crop(height, width)
        return output if temperature is None else self.ab_head.at_temperature(output, temperature)

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        """Predict for an input [B,in_channels,H,W] whose sides are multiples of `size_multiple`."""
        raise NotImplementedError

    def pretrained_parameters(self) -> list[nn.Parameter]:
        """The parameters that came pretrained (an encoder's): the optimiser gives them
        `pretrained_lr_mult` times the learning rate. None for a net trained from scratch."""
        return []

    def on_train_epoch_start(self, epoch: int) -> None:
        """Called by the training module as each epoch begins, for nets with a schedule of their
        own (a pretrained encoder frozen for its first epochs)."""
