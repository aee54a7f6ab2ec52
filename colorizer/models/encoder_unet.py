"""A U-Net whose encoder is a pretrained timm backbone (DeOldify's DynamicUnet, DDColor's pixel
decoder): the decoder climbs from the deepest feature map, joining the encoder's map at each
scale, then joins L itself at full resolution before the head."""

import torch
import torch.nn.functional as F
from torch import nn

from colorizer.models.base import ColorizationNet
from colorizer.models.encoders import PACKAGE_BACKBONE, TimmEncoder
from colorizer.models.outputs import NetOutput
from colorizer.models.unet import conv_block


class Upsample(nn.Module):
    """[B,C,h,w] -> [B,C,H,W] at the given size. `bilinear`: interpolation; `pixel_shuffle`: a
    conv to 4C channels rearranged into 2x the resolution (fastai's PixelShuffle_ICNR, without
    ICNR init), resized when the target is not exactly twice the input."""

    def __init__(self, channels: int, mode: str) -> None:
        super().__init__()
        if mode not in ("bilinear", "pixel_shuffle"):
            raise ValueError(f"model.upsample={mode} is not one of bilinear, pixel_shuffle.")
        self.shuffle = (
            nn.Sequential(nn.Conv2d(channels, 4 * channels, 1), nn.ReLU(inplace=True), nn.PixelShuffle(2))
            if mode == "pixel_shuffle"
            else None
        )

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if self.shuffle is not None and (2 * x.shape[-2], 2 * x.shape[-1]) == tuple(size):
            return self.shuffle(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class DecoderBlock(nn.Module):
    """Upsample the coarser map to the skip's size, join them, two conv-BN-ReLU:
    [B,c_in,h,w] + skip [B,c_skip,H,W] -> [B,c_out,H,W]."""

    def __init__(self, c_in: int, c_skip: int, c_out: int, upsample: str) -> None:
        super().__init__()
        self.upsample = Upsample(c_in, upsample)
        self.convs = conv_block(c_in + c_skip, c_out, first_slope=0.0, slope=0.0)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.upsample(x, skip.shape[-2:]), skip], dim=1))


class HintEncoder(nn.Module):
    """The user hints' own encoder, trained from scratch at the full learning rate: L and the hint
    channels [B,4,H,W] -> one map per scale of the backbone, [B,widths[i],H/r_i,W/r_i] for each
    reduction r_i (a conv block at full resolution, then one per scale, max-pooled between). It is
    the from-scratch U-Net's encoder, which learns to spread a hint's colour over its region."""

    def __init__(self, reductions: list[int], base_width: int) -> None:
        super().__init__()
        self.steps = [later // earlier for earlier, later in zip([1, *reductions[:-1]], reductions, strict=True)]
        self.widths = [base_width * 2 ** min(i, 3) for i in range(len(reductions))]
        self.stem = conv_block(4, base_width, first_slope=0.0, slope=0.0)
        self.levels = nn.ModuleList(
            conv_block(c_in, c_out, first_slope=0.0, slope=0.0)
            for c_in, c_out in zip([base_width, *self.widths[:-1]], self.widths, strict=True)
        )

    def forward(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(inputs)
        maps = []
        for step, level in zip(self.steps, self.levels, strict=True):
            x = level(F.max_pool2d(x, step))
            maps.append(x)
        return maps


class EncoderUNet(ColorizationNet):
    """L [B,1,H,W] -> ab [B,2,H,W] through a timm backbone and a decoder of `len(features)` blocks.

    Decoder widths halve from `decoder_base_width * 2^(n-1)` at the deepest join to
    `decoder_base_width` at full resolution, where L is joined again: the head sees the exact
    lightness edges, which the encoder's stride-2 stem has lost.

    `encoder`: the backbone's `name` and `weights` (see `colorizer.models.encoders`);
    `freeze_epochs`: for that many epochs only the decoder trains (the encoder's weights and
    batch-norm statistics stay as loaded), then the whole net; `lr_mult`: the encoder's learning
    rate is the optimiser's times this (fastai's discriminative rates: a pretrained encoder moved
    gently, the new decoder fast).

    Hints (`hints=True`) have an encoder of their own (`HintEncoder`, `hint_width` wide at full
    resolution) whose maps join the backbone's at every scale, and they join L again at full
    resolution, where a patch's colour is exact. The backbone sees L alone: fed to its stem, at
    the backbone's gentle learning rate, the hints were barely used (docs/results.md, "Hints").
    """

    def __init__(
        self,
        encoder: dict | None = None,
        decoder_base_width: int = 16,
        upsample: str = "bilinear",
        head: nn.Module | None = None,
        hints: bool = False,
        hint_width: int = 16,
    ) -> None:
        super().__init__(head, hints)
        settings = {
            "name": PACKAGE_BACKBONE,
            "weights": "package",
            "freeze_epochs": 0,
            "lr_mult": 1.0,
            **(encoder or {}),
        }
        self.freeze_epochs = int(settings["freeze_epochs"])
        self.pretrained_lr_mult = float(settings["lr_mult"])
        self.encoder = TimmEncoder(settings["name"], settings["weights"])
        channels, reductions = self.encoder.channels, self.encoder.reductions
        self.size_multiple = max(reductions)
        self.hint_encoder = HintEncoder(reductions, hint_width) if hints else None
        if self.hint_encoder is not None:
            channels = [c + w for c, w in zip(channels, self.hint_encoder.widths, strict=True)]
        levels = len(channels)
        widths = [decoder_base_width * 2 ** (levels - 1 - i) for i in range(levels)]
        blocks = []
        c_in = channels[-1]
        for index, skip in enumerate(reversed(channels[:-1])):
            blocks.append(DecoderBlock(c_in, skip, widths[index], upsample))
            c_in = widths[index]
        self.decoder = nn.ModuleList(blocks)
        self.full_resolution = DecoderBlock(c_in, self.in_channels, widths[-1], upsample)
        self.to_head = nn.Conv2d(widths[-1], self.ab_head.channels, 1)

    def pretrained_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def on_train_epoch_start(self, epoch: int) -> None:
        self.encoder.set_frozen(epoch < self.freeze_epochs)

    def colorize_padded(self, inputs: torch.Tensor) -> NetOutput:
        features = self.encoder(inputs[:, :1])
        if self.hint_encoder is not None:
            features = [torch.cat(pair, dim=1) for pair in zip(features, self.hint_encoder(inputs), strict=True)]
        x = features[-1]
        for block, skip in zip(self.decoder, reversed(features[:-1]), strict=True):
            x = block(x, skip)
        return self.ab_head(self.to_head(self.full_resolution(x, inputs)))
