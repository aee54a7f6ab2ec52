"""Nets saved as TorchScript with what inference needs beside them (`colorizer.json` in the
archive), so a model loads without the code that built it: `colorizer.export`'s files and the
shipped model (`colorizer.weights.pack`). Why not only checkpoints: rebuilding the shipped net's
pretrained encoder imports timm and with it torchvision, about 2 s of a one-photo predict that a
TorchScript file does not pay."""

import copy
import json
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from colorizer.atomic import atomic_write
from colorizer.models.base import ColorizationNet
from colorizer.models.heads import temperature_of
from colorizer.models.outputs import NetOutput

if TYPE_CHECKING:  # checkpoints loads through this module
    from colorizer.inference.checkpoints import TrainedColorizer

METADATA = "colorizer.json"


class ScriptedNet(ColorizationNet):
    """A traced net behind the calls inference makes of any net: L [B,1,S,S] (and the hint
    channels [B,3,S,S] for a hints net) -> ab [B,2,S,S], at the side S it was traced at and
    decoding at the temperature it was traced at (`temperature`; None: a regression net)."""

    def __init__(self, module: torch.jit.ScriptModule, image_size: int, hints: bool, temperature: float | None) -> None:
        super().__init__(hints=hints)
        self.module = module
        self.image_size = image_size
        self.temperature = temperature

    def check_temperature(self, temperature: float | None) -> None:
        """Refuse a temperature other than the traced one (None: decode as traced)."""
        if temperature is not None and temperature != self.temperature:
            raise ValueError(
                f"temperature={temperature} cannot be applied to a traced model (it decodes at "
                f"{self.temperature}): export its checkpoint at that temperature."
            )

    def colorize(
        self, L: torch.Tensor, hints: torch.Tensor | None = None, temperature: float | None = None
    ) -> NetOutput:
        if tuple(L.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(
                f"This traced model takes {self.image_size}x{self.image_size} inputs only, "
                f"not {L.shape[-2]}x{L.shape[-1]}."
            )
        self.check_temperature(temperature)
        if not self.hints:
            return NetOutput(ab=self.module(L))
        hints = L.new_zeros(L.shape[0], 3, *L.shape[-2:]) if hints is None else hints.to(L.dtype)
        return NetOutput(ab=self.module(L, hints))


def trace(net: torch.nn.Module, image_size: int, hints: bool) -> torch.jit.ScriptModule:
    """`net` (a copy, in eval mode) traced on a batch of two at `image_size`."""
    example = (torch.rand(2, 1, image_size, image_size),)
    if hints:
        example += (torch.rand(2, 3, image_size, image_size).round(),)
    # The tracer warns that size checks become constants: intended, the traced file takes one size.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return torch.jit.trace(copy.deepcopy(net).cpu().eval(), example)


def half_precision(module: torch.jit.ScriptModule) -> None:
    """Store `module`'s floating-point weights in half precision (batch-norm statistics stay in single)."""
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point() and "running_" not in name:
            tensor.data = tensor.data.half()


def save_scripted(module: torch.jit.ScriptModule, target: str | Path, metadata: dict[str, Any]) -> None:
    """Write `module` with `metadata` (image_size, hints, temperature, config, train_mean_ab) beside it."""
    extra = {METADATA: json.dumps(metadata)}
    atomic_write(target, lambda handle: torch.jit.save(module, handle, _extra_files=extra))


def scripted_metadata(path: str | Path) -> dict[str, Any] | None:
    """The metadata of a TorchScript file written by `save_scripted`, or None for any other file."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if name.endswith(f"/extra/{METADATA}")]
        return json.loads(archive.read(names[0])) if names else None


def load_scripted(path: str | Path, metadata: dict[str, Any], device: str | torch.device = "cpu") -> ScriptedNet:
    """The net of a `save_scripted` file, in single precision on `device`."""
    module = torch.jit.load(str(path), map_location="cpu").float().eval()
    net = ScriptedNet(module, int(metadata["image_size"]), bool(metadata["hints"]), metadata.get("temperature"))
    return net.to(device).eval()


def scripted_metadata_of(model: "TrainedColorizer", temperature: float | None) -> dict[str, Any]:
    """What loading `model`'s net traced at `temperature` (None: its own) needs beside it: its size,
    whether it takes hints, the temperature, the run's config and the training mean colour."""
    return {
        "image_size": model.image_size,
        "hints": bool(model.net.hints),
        "temperature": temperature if temperature is not None else temperature_of(model.net),
        "config": model.config,
        "train_mean_ab": model.train_mean_ab.tolist(),
    }
