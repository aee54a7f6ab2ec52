"""`python -m colorizer.export`: a file that maps L to ab without Lightning, Hydra or this package.

The exported model takes normalised L (Lab L / 100) as [B,1,S,S] at the size it was trained
at and returns normalised ab (Lab ab / 110) as [B,2,S,S] in [-1, 1]. A hints model
(model.hints=true) takes the hint channels as its second input, [B,3,S,S]: hint ab / 110 and
the mask (all zero: no hints, the automatic result).
"""

import logging
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from colorizer.cli import one_line_errors
from colorizer.config import register_resolvers
from colorizer.inference import load_colorizer
from colorizer.inference.scripted import save_scripted, scripted_metadata_of, trace
from colorizer.models.heads import AtTemperature

log = logging.getLogger(__name__)

SUFFIXES = {"torchscript": ".torchscript.pt", "onnx": ".onnx"}


def export_checkpoint(
    ckpt_path: str | Path,
    export_format: str = "torchscript",
    output: str | Path | None = None,
    temperature: float | None = None,
) -> Path:
    """Write the checkpoint's net as TorchScript or ONNX and return the file's path. A
    classification net is exported decoding at `temperature` (None: the one it was trained with)."""
    if export_format not in SUFFIXES:
        raise ValueError(f"format={export_format} is not supported; use one of {sorted(SUFFIXES)}.")
    model = load_colorizer(ckpt_path, temperature=temperature)
    net = model.net if temperature is None else AtTemperature(model.net, temperature)
    ckpt_path = Path(ckpt_path)
    target = Path(output) if output else ckpt_path.with_name(ckpt_path.stem + SUFFIXES[export_format])
    target.parent.mkdir(parents=True, exist_ok=True)
    size = model.image_size
    example = (torch.rand(2, 1, size, size),) + ((torch.rand(2, 3, size, size).round(),) if model.net.hints else ())
    names = ["L", "hints"][: len(example)]
    if export_format == "torchscript":
        # What predict, evaluate, the page and the server need beside the net, so they load the file too.
        save_scripted(trace(net, size, model.net.hints), target, scripted_metadata_of(model, temperature))
    else:
        try:
            import onnx  # noqa: F401  (the exporter needs it; a clear message beats its ImportError)
        except ImportError as error:
            raise RuntimeError("ONNX export needs the optional extra: pip install -e '.[onnx]'") from error
        batch = torch.export.Dim("batch")
        torch.onnx.export(
            net,
            example,
            str(target),
            input_names=names,
            output_names=["ab"],
            dynamic_shapes={name: {0: batch} for name in names},
            dynamo=True,
            external_data=False,
        )
    log.info("Exported %s to %s (inputs %s at %dx%d)", ckpt_path, target, " and ".join(names), size, size)
    return target


register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
def main(cfg: DictConfig) -> None:
    with one_line_errors("colorizer.export"):
        path = export_checkpoint(cfg.ckpt_path, cfg.format, cfg.output, cfg.get("temperature"))
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
