"""A plain convolutional encoder-decoder without skip connections, with an optional dense bottleneck."""

import torch
from torch import nn

from colorizer.models.base import ColorizationNet, padded_size
from colorizer.models.outputs import NetOutput


class ConvAutoencoder(ColorizationNet):
    """Strided conv-BN-ReLU encoder (32-64-128-256 by default), an optional dense bottleneck,
    and a mirrored transposed-conv decoder to the head (ab with tanh by default).

    With `latent_dim` set, the encoder output is flattened to a dense latent of that size
    (with `dropout`) and projected back, which fixes the input size: build it with the data's
    `image_size`. With `latent_dim=None` the net is fully convolutional.
    """

    def __init__(
        self,
        widths: tuple[int, ...] | list[int] = (32, 64, 128, 256),
        latent_dim: int | None = 128,
        dropout: float = 0.5,
        batch_norm: bool = True,
        image_size: int = 64,
        head: nn.Module | None = None,
        hints: bool = False,
    ) -> None:
        super().__init__(head, hints)
        self.size_multiple = 2 ** len(widths)
        self.image_size = image_size
        self.grid = padded_size(image_size, self.size_multiple) // self.size_multiple

        def block(conv: nn.Module, channels: int) -> list[nn.Module]:
            return [conv, *([nn.BatchNorm2d(channels)] if batch_norm else []), nn.ReLU(inplace=True)]

        encoder, c_in = [], self.in_channels
        for width in widths:
            encoder += block(nn.Conv2d(c_in, width, 3, 2, 1), width)
            c_in = width
        self.encoder = nn.Sequential(*encoder)
        self.bottleneck: nn.Module = nn.Identity()
        if latent_dim is not None:
            flat = widths[-1] * self.grid * self.grid
            self.bottleneck = nn.Sequential(
                nn.Flatten(),
                nn.Linear(flat, latent_dim),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(latent_dim, flat),
                nn.ReLU(inplace=True),
                nn.Unflatten(1, (widths[-1], self.grid, self.grid)),
            )
        decoder = []
        for c_out, c_prev in zip(reversed(widths[:-1]), reversed(widths[1:]), strict=True):
            decoder += block(nn.ConvTranspose2d(c_prev, c_out, 3, 2, 1, output_padding=1), c_out)
        decoder.append(nn.ConvTranspose2d(widths[0], self.ab_head.channels, 3, 2, 1, output_padding=1))
        self.decoder = nn.Sequential(*decoder)
        self.dense = latent_dim is not None

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        """Hints (with `hints=True`) join L as input channels of the first conv."""
        side = self.grid * self.size_multiple
        if self.dense and tuple(inputs.shape[-2:]) != (side, side):
            raise ValueError(
                f"This autoencoder's dense bottleneck was built for image_size={self.image_size}; "
                f"it cannot take {tuple(inputs.shape[-2:])}. Resize inputs, or use latent_dim=null."
            )
        return self.ab_head(self.decoder(self.bottleneck(self.encoder(inputs))))
