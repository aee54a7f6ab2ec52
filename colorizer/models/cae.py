"""A convolutional autoencoder with skip connections: strided convs down, transposed convs up, each fed the
matching encoder features."""

import torch
from torch import nn

from colorizer.models.base import ColorizationNet
from colorizer.models.outputs import NetOutput


class SkipConnectionAutoencoder(ColorizationNet):
    """Four strided 3x3 convs (1→64→128→256→512 by default) and four transposed convs that each
    take the previous output concatenated with the matching encoder features. ReLU; tanh head.

    Every layer is padded so each stage exactly halves or doubles
    the size; other sizes are padded to a multiple of 16 (see `colorizer.models.base`).
    """

    size_multiple = 16

    def __init__(
        self,
        widths: tuple[int, int, int, int] | list[int] = (64, 128, 256, 512),
        head: nn.Module | None = None,
        hints: bool = False,
    ) -> None:
        super().__init__(head, hints)
        w1, w2, w3, w4 = widths
        self.down = nn.ModuleList(
            [nn.Conv2d(c_in, c_out, 3, 2, 1) for c_in, c_out in [(self.in_channels, w1), (w1, w2), (w2, w3), (w3, w4)]]
        )
        self.up = nn.ModuleList(
            [
                nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1)
                for c_in, c_out in [(w4, w3), (2 * w3, w2), (2 * w2, w1), (2 * w1, self.ab_head.channels)]
            ]
        )
        self.relu = nn.ReLU()

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        """Hints (with `hints=True`) join L as input channels of the first conv."""
        d1 = self.relu(self.down[0](inputs))
        d2 = self.relu(self.down[1](d1))
        d3 = self.relu(self.down[2](d2))
        d4 = self.relu(self.down[3](d3))
        u = self.relu(self.up[0](d4))
        u = self.relu(self.up[1](torch.cat([u, d3], dim=1)))
        u = self.relu(self.up[2](torch.cat([u, d2], dim=1)))
        return self.ab_head(self.up[3](torch.cat([u, d1], dim=1)))
