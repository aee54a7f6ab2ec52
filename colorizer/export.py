"""`python -m colorizer.export`: a file that maps L to ab without Lightning, Hydra or this package.

The exported model takes normalised L (Lab L / 100) as [B,1,S,S] at the size it was trained
at and returns normalised ab (Lab ab / 110) as [B,2,S,S] in [-1, 1].
"""

import logging
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from colorizer.inference import load_colorizer

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
    ckpt_path = Path(ckpt_path)
    target = Path(output) if output else ckpt_path.with_name(ckpt_path.stem + SUFFIXES[export_format])
    target.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 1, model.image_size, model.image_size)
    if export_format == "torchscript":
        traced = torch.jit.trace(model.net, example)
        traced.save(str(target))
    else:
        try:
            import onnx  # noqa: F401  (the exporter needs it; a clear message beats its ImportError)
        except ImportError as error:
            raise RuntimeError("ONNX export needs the optional extra: pip install -e '.[onnx]'") from error
        batch = torch.export.Dim("batch")
        torch.onnx.export(
            model.net,
            (example,),
            str(target),
            input_names=["L"],
            output_names=["ab"],
            dynamic_shapes={"L": {0: batch}},
            dynamo=True,
            external_data=False,
        )
    log.info("Exported %s to %s (input L [B,1,%d,%d])", ckpt_path, target, model.image_size, model.image_size)
    return target


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
def main(cfg: DictConfig) -> None:
    path = export_checkpoint(cfg.ckpt_path, cfg.format, cfg.output, cfg.get("temperature"))
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
