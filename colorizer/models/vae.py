"""A convolutional VAE: a global latent distribution between a strided encoder and a transposed-conv decoder."""

import torch
from torch import nn

from colorizer.models.base import ColorizationNet, padded_size
from colorizer.models.outputs import NetOutput


def _conv(c_in: int, c_out: int, stride: int, slope: float) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.LeakyReLU(slope)]


class ConvVAE(ColorizationNet):
    """Encoder to a global latent distribution, transposed-conv decoder to ab.

    Encoder: 1→64 (s2)→128→128 (s2)→256→256 (s2)→512→512→256 with LeakyReLU and Dropout2d in
    the deeper blocks; global average pooling, dropout, a 1x1 conv to mean and log-variance.
    The latent is sampled in training and taken as the mean in eval. Decoder: linear to
    256×(S/8)², then transposed convs 256→128→64→32→16→head channels (2 and tanh by default). The linear layer fixes the
    (padded) input size: build it with the data's `image_size`.
    """

    size_multiple = 8

    def __init__(
        self,
        image_size: int = 64,
        latent_dim: int = 128,
        dropout: float = 0.2,
        negative_slope: float = 0.2,
        head: nn.Module | None = None,
        hints: bool = False,
    ) -> None:
        super().__init__(head, hints)
        s = negative_slope
        self.grid = padded_size(image_size, self.size_multiple) // 8
        self.image_size = image_size
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            *_conv(self.in_channels, 64, 2, s),
            *_conv(64, 128, 1, s),
            nn.Dropout2d(dropout),
            *_conv(128, 128, 2, s),
            *_conv(128, 256, 1, s),
            nn.Dropout2d(dropout),
            *_conv(256, 256, 2, s),
            *_conv(256, 512, 1, s),
            *_conv(512, 512, 1, s),
            nn.Dropout2d(dropout),
            *_conv(512, 256, 1, s),
            nn.AdaptiveAvgPool2d(1),
            nn.Dropout(dropout),
            nn.Conv2d(256, 2 * latent_dim, 1),
        )
        self.project = nn.Linear(latent_dim, 256 * self.grid * self.grid)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 3, 2, 1, output_padding=1),
            nn.LeakyReLU(s),
            nn.ConvTranspose2d(128, 64, 3, 2, 1, output_padding=1),
            nn.LeakyReLU(s),
            nn.ConvTranspose2d(64, 32, 3, 1, 1),
            nn.LeakyReLU(s),
            nn.ConvTranspose2d(32, 16, 3, 1, 1),
            nn.LeakyReLU(s),
            nn.ConvTranspose2d(16, self.ab_head.channels, 3, 2, 1, output_padding=1),
        )

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        """Hints (with `hints=True`) join L as input channels of the first conv, so they reach the
        decoder only through the global latent."""
        if inputs.shape[-2] != self.grid * 8 or inputs.shape[-1] != self.grid * 8:
            raise ValueError(
                f"This VAE was built for image_size={self.image_size}; its dense decoder cannot take "
                f"{tuple(inputs.shape[-2:])}. Resize inputs to {self.image_size}x{self.image_size}."
            )
        mean, log_var = self.encoder(inputs).flatten(1).chunk(2, dim=1)
        latent = mean + torch.randn_like(mean) * (0.5 * log_var).exp() if self.training else mean
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1).mean()
        features = self.project(latent).view(-1, 256, self.grid, self.grid)
        return self.ab_head(self.decoder(features), kl=kl)
