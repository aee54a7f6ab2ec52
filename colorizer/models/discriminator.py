"""The conditional PatchGAN discriminator of pix2pix (Isola et al., 2017), on (L, ab)."""

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """Scores overlapping patches of an (L, ab) image as real or colorized: L [B,1,H,W] and
    ab [B,2,H,W] (normalised) -> logits [B,1,H/2^d - 1,W/2^d - 1] for `depth` d.

    4x4 convolutions, stride 2 for `depth` levels of width `width`·2^i, LeakyReLU(0.2), then a
    stride-1 layer to one logit per patch. Spectral normalisation keeps the discriminator
    Lipschitz, which steadies hinge-loss training without tuning (Miyato et al., 2018).
    """

    def __init__(self, width: int = 32, depth: int = 3, spectral: bool = True) -> None:
        super().__init__()

        def conv(c_in: int, c_out: int, stride: int) -> nn.Module:
            layer = nn.Conv2d(c_in, c_out, 4, stride, 1)
            return spectral_norm(layer) if spectral else layer

        layers: list[nn.Module] = []
        c_in = 3
        for level in range(depth):
            c_out = width * 2**level
            layers += [conv(c_in, c_out, 2), nn.LeakyReLU(0.2, inplace=True)]
            c_in = c_out
        layers.append(conv(c_in, 1, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([L, ab], dim=1))
