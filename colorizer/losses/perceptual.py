"""Perceptual loss: L1 between frozen VGG features of the rebuilt and the true RGB image."""

import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from colorizer.losses.base import LossInputs, LossTerm

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PretrainedWeightsError(RuntimeError):
    """Pretrained weights were requested but could not be loaded (typically: offline)."""


def vgg_layer_indices(features: nn.Sequential) -> dict[str, int]:
    """Name every ReLU of a torchvision VGG `features` stack the usual way: relu{block}_{conv}.

    Works for vgg11/13/16/19 alike; for vgg19, relu3_4 is index 17, so `features[:18]`.
    """
    names, block, conv = {}, 1, 0
    for index, layer in enumerate(features):
        if isinstance(layer, nn.Conv2d):
            conv += 1
        elif isinstance(layer, nn.ReLU):
            names[f"relu{block}_{conv}"] = index
        elif isinstance(layer, nn.MaxPool2d):
            block, conv = block + 1, 0
    return names


def build_vgg_features(arch: str, pretrained: bool, weights_path: str | None) -> nn.Sequential:
    """torchvision's VGG `features`, with ImageNet weights from torchvision, a local file, or random."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise PretrainedWeightsError(
                f"loss.perceptual.weights_path={weights_path} does not exist. Give the path to a torchvision "
                f"{arch} state dict (e.g. {arch}-*.pth), or set loss.perceptual.pretrained=false."
            )
        model = torchvision.models.get_model(arch, weights=None)
        state = torch.load(path, map_location="cpu", weights_only=True)
        if any(key.startswith("features.") for key in state):
            model.load_state_dict(state)
        else:
            model.features.load_state_dict(state)
        return model.features
    if not pretrained:
        log.warning("Perceptual loss uses a randomly initialised %s (pretrained=false): fine for tests only.", arch)
        return torchvision.models.get_model(arch, weights=None).features
    weights = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
    cached = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
    try:
        return torchvision.models.get_model(arch, weights=weights).features
    except Exception as error:  # urllib, socket and SSL errors all mean the same thing here
        raise PretrainedWeightsError(
            f"Could not obtain the pretrained {arch} ImageNet weights ({type(error).__name__}: {error}). "
            f"This machine may be offline. Either copy the file from {weights.url} to {cached}, "
            f"or pass loss.perceptual.weights_path=/path/to/{os.path.basename(weights.url)}, "
            f"or use loss.perceptual.pretrained=false (random features, for tests only)."
        ) from error


class PerceptualLoss(LossTerm):
    """Mean L1 distance between VGG activations of `pred_rgb` and `true_rgb` at the given layers
    (a name like "relu3_4" or a list of names).

    Images are ImageNet-normalised first. The VGG is frozen and always in eval mode, and it is
    not saved in checkpoints (it is rebuilt from torchvision when a model is loaded).
    """

    def __init__(
        self,
        weight: float = 1.0,
        arch: str = "vgg19",
        layers: str | tuple[str, ...] | list[str] = ("relu3_4",),
        pretrained: bool = True,
        weights_path: str | None = None,
    ) -> None:
        super().__init__(weight)
        layers = [layers] if isinstance(layers, str) else list(layers)
        features = build_vgg_features(arch, pretrained, weights_path)
        available = vgg_layer_indices(features)
        unknown = [name for name in layers if name not in available]
        if unknown or not layers:
            raise ValueError(f"Unknown {arch} layers {unknown or list(layers)}; choose from {sorted(available)}.")
        self.layer_indices = sorted(available[name] for name in layers)
        vgg = features[: self.layer_indices[-1] + 1].eval().requires_grad_(False)
        # Kept out of the module tree so it stays out of state_dict, .train() and the optimiser.
        self._vgg = [vgg]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _apply(self, fn, recurse=True):
        self._vgg[0]._apply(fn, recurse)
        return super()._apply(fn, recurse)

    def _features(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = (rgb - self.mean) / self.std
        outputs = []
        for index, layer in enumerate(self._vgg[0]):
            x = layer(x)
            if index in self.layer_indices:
                outputs.append(x)
        return outputs

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        with torch.no_grad():
            targets = self._features(inputs.true_rgb)
        predictions = self._features(inputs.pred_rgb)
        return sum(F.l1_loss(p, t) for p, t in zip(predictions, targets, strict=True)) / len(targets)
