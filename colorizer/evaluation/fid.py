"""FID of colorized photos against the true ones, with an explicit feature extractor.

With Inception weights given as a path (the file torchmetrics / torch-fidelity use,
`fid.inception_weights=...`) the features are Inception-v3's 2048 pooled ones and the score is
labelled `fid`, the number papers report. Without them (no machine here can download them) the
features are the 1280 pooled ones of the ImageNet EfficientNet-Lite0 that the encoders extra
ships, and the score is labelled `fid_elite0`: a Fréchet distance all the same, but not
comparable with published FIDs.

Features are extracted once per image (the truth once, each model's prediction once) and fed to
torchmetrics' `FrechetInceptionDistance` through an identity "extractor", so the true images'
statistics are not recomputed for every model. The features of what depends on the data alone
(the truth, gray, a constant colour) are kept in the cache folder per split (`ReferenceFeatures`):
a second evaluate of the same photos extracts only its checkpoints' features.
"""

import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

from colorizer.data.statistics import store_tensor
from colorizer.models.encoders import (
    PACKAGE_BACKBONE,
    EncoderWeightsError,
    efficientnet_pytorch_to_timm,
    import_timm,
    package_state_dict,
)

log = logging.getLogger(__name__)


class FidFeatures(nn.Module):
    """RGB in [0, 1] [B,3,H,W] -> pooled features [B,num_features], under the score's `label`."""

    label: str
    num_features: int

    def prepare(self, device: torch.device, bf16: bool) -> None:
        """Get ready to extract on `device` (under bfloat16 autocast with `bf16`)."""
        self.to(device)


class EfficientNetLite0Features(FidFeatures):
    """The packaged ImageNet EfficientNet-Lite0's global-pooled features at 224 px."""

    label = "fid_elite0"
    num_features = 1280

    def __init__(self) -> None:
        super().__init__()
        self.body = import_timm().create_model(PACKAGE_BACKBONE, pretrained=False, num_classes=0)
        state = efficientnet_pytorch_to_timm(package_state_dict(), PACKAGE_BACKBONE)
        self.body.load_state_dict({k: v for k, v in state.items() if not k.startswith("classifier.")})
        # NHWC: oneDNN's and cuDNN's faster convolution layout (1.6x on a CPU here, 4x with bf16).
        self.body.eval().to(memory_format=torch.channels_last)

    def prepare(self, device: torch.device, bf16: bool) -> None:
        """On a CPU in fp32, the net traced and frozen with batch norm folded into the convolutions
        in oneDNN's layouts (`optimize_for_inference`): 1.7x faster here, the same features to 1e-6.
        Under bf16 autocast the eager net is the faster one, so it stays."""
        self.to(device)
        if device.type != "cpu" or bf16 or isinstance(self.body, torch.jit.ScriptModule):
            return
        example = torch.rand(2, 3, 224, 224).contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shapes become constants: intended
            self.body = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(self.body, example)))

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        resized = F.interpolate(rgb.float(), size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
        return self.body(((resized - 0.5) / 0.5).contiguous(memory_format=torch.channels_last))


class InceptionFeatures(FidFeatures):
    """Inception-v3's 2048 pooled features from the FID weights file at `path` (torch-fidelity's)."""

    label = "fid"
    num_features = 2048

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"fid.inception_weights={path} is not a file. Give the FID Inception weights "
                "(pt_inception-2015-12-05-6726825d.pth), or leave it null to report fid_elite0."
            )
        try:
            from torchmetrics.image.fid import NoTrainInceptionV3

            self.body = NoTrainInceptionV3("inception-v3-compat", ["2048"], str(path))
        except (ImportError, RuntimeError) as error:
            raise EncoderWeightsError(
                f"FID with Inception weights needs torch-fidelity (pip install -e '.[fid]'): {error}"
            ) from error

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        features = self.body((rgb.clamp(0, 1) * 255).round().to(torch.uint8))
        return (features[0] if isinstance(features, tuple) else features).reshape(len(rgb), -1)


def fid_features(inception_weights: str | None) -> FidFeatures:
    """Inception's features when a weights file is given, else EfficientNet-Lite0's."""
    return InceptionFeatures(inception_weights) if inception_weights else EfficientNetLite0Features()


class _GivenFeatures(nn.Module):
    """The 'extractor' for features that are already extracted: [B,D] -> [B,D]."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(num_features: int) -> FrechetInceptionDistance:
    """torchmetrics' FID over features [B,num_features] passed to `update` directly."""
    return FrechetInceptionDistance(feature=_GivenFeatures(num_features), normalize=True)


class ReferenceFeatures:
    """FID features of the rows that depend on the data alone (the truth, gray, one constant colour),
    kept between evaluations of the same split, so that an evaluate computes only its models' own.

    `path_of(key)` is where a row's features [N,D] live (None: not kept). Features are added batch
    by batch on the first evaluation and written by `save` once the split is whole.
    """

    def __init__(self, path_of: Callable[[str], Path | None]) -> None:
        self.path_of = path_of
        self.known: dict[str, torch.Tensor] = {}
        self.collected: dict[str, list[torch.Tensor]] = {}

    def cached(self, key: str) -> torch.Tensor | None:
        """The stored features of `key`, or None (they are to be computed)."""
        if key not in self.known:
            path = self.path_of(key)
            if path is not None and path.is_file():
                try:
                    self.known[key] = torch.load(path, map_location="cpu", weights_only=True)
                except (OSError, RuntimeError) as error:
                    log.warning("Cannot read the FID features %s (%s); computing them again.", path, error)
        return self.known.get(key)

    def add(self, key: str, features: torch.Tensor) -> None:
        self.collected.setdefault(key, []).append(features.detach().cpu())

    def save(self) -> None:
        for key, parts in self.collected.items():
            path = self.path_of(key)
            if path is None:
                continue
            store_tensor(path, torch.cat(parts))
        self.collected.clear()
