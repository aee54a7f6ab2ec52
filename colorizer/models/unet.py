"""A configurable U-Net: depth, width, activations, batch norm, dropout and an input skip at the end."""

import torch
from torch import nn

from colorizer.models.base import ColorizationNet
from colorizer.models.outputs import NetOutput


def activation(negative_slope: float) -> nn.Module:
    return nn.LeakyReLU(negative_slope, inplace=True) if negative_slope > 0 else nn.ReLU(inplace=True)


def conv_block(
    c_in: int, c_out: int, first_slope: float, slope: float, batch_norm: bool = True, dropout: float = 0.0
) -> nn.Sequential:
    """Two conv3x3-(BN)-activation layers, then optional Dropout2d: [B,c_in,H,W] -> [B,c_out,H,W]."""
    layers: list[nn.Module] = []
    for index, (a, b) in enumerate([(c_in, c_out), (c_out, c_out)]):
        layers.append(nn.Conv2d(a, b, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(b))
        layers.append(activation(first_slope if index == 0 else slope))
    if dropout > 0:
        layers.append(nn.Dropout2d(dropout))
    return nn.Sequential(*layers)


class UNet(ColorizationNet):
    """Encoder levels of width base_width·2^i (32-64-128-256 for depth 4), max-pooled between
    levels; decoder with transposed-conv upsampling and concatenated skips; 1x1 conv + tanh.

    By default the very first activation is LeakyReLU(first_negative_slope), the rest ReLU
    (`negative_slope=0`), BN everywhere, encoder dropout rising linearly from
    `encoder_dropout[0]` at the top to `encoder_dropout[1]` at the bottleneck. The deeper variant
    (`experiment=unet5_mae`): depth 5, LeakyReLU everywhere, BN only from `norm_from_level` down,
    dropout in the decoder, and `concat_input` joining L to the last decoder features before the head.
    """

    def __init__(
        self,
        base_width: int = 32,
        depth: int = 4,
        encoder_dropout: tuple[float, float] | list[float] = (0.1, 0.2),
        decoder_dropout: float = 0.0,
        first_negative_slope: float = 0.1,
        negative_slope: float = 0.0,
        norm_from_level: int = 0,
        concat_input: bool = False,
        head: nn.Module | None = None,
        hints: bool = False,
    ) -> None:
        super().__init__(head, hints)
        if depth < 2:
            raise ValueError(f"UNet depth must be at least 2, got {depth}.")
        self.size_multiple = 2 ** (depth - 1)
        self.concat_input = concat_input
        widths = [base_width * 2**i for i in range(depth)]
        low, high = encoder_dropout
        rates = [low + (high - low) * i / (depth - 1) for i in range(depth)]
        self.encoder = nn.ModuleList()
        c_in = self.in_channels
        for level, (width, rate) in enumerate(zip(widths, rates, strict=True)):
            first = first_negative_slope if level == 0 else negative_slope
            self.encoder.append(conv_block(c_in, width, first, negative_slope, level >= norm_from_level, rate))
            c_in = width
        self.pool = nn.MaxPool2d(2)
        levels = list(reversed(range(depth - 1)))
        self.upsample = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in levels])
        self.decoder = nn.ModuleList(
            [
                conv_block(
                    2 * widths[i], widths[i], negative_slope, negative_slope, i >= norm_from_level, decoder_dropout
                )
                for i in levels
            ]
        )
        self.to_ab_features = nn.Conv2d(widths[0] + concat_input * self.in_channels, self.ab_head.channels, 1)
        self.register_load_state_dict_pre_hook(_accept_head_named_checkpoints)

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        """Hints (with `hints=True`) join L as input channels of the first level (and of the
        input skip, with `concat_input`)."""
        skips = []
        x = inputs
        for level, block in enumerate(self.encoder):
            x = block(x if level == 0 else self.pool(x))
            skips.append(x)
        for upsample, block, skip in zip(self.upsample, self.decoder, reversed(skips[:-1]), strict=True):
            x = block(torch.cat([upsample(x), skip], dim=1))
        if self.concat_input:
            x = torch.cat([x, inputs], dim=1)
        return self.ab_head(self.to_ab_features(x))


def _accept_head_named_checkpoints(module: nn.Module, state_dict: dict, prefix: str, *_: object) -> None:
    """Checkpoints that call the 1x1 conv `head` (colorizer 0.1) load as they are."""
    for name in ("weight", "bias"):
        old = f"{prefix}head.{name}"
        if old in state_dict:
            state_dict[f"{prefix}to_ab_features.{name}"] = state_dict.pop(old)
