"""`python -m colorizer.weights.pack <checkpoint> [--card key=value ...]`: a trained checkpoint as
the package's shipped model: the net alone, floating-point weights in half precision (batch-norm
statistics stay in single precision), the config less what only training needs, and the SHA-256
to paste into `colorizer/weights/__init__.py`."""

import argparse
from pathlib import Path
from typing import Any

import torch

from colorizer.atomic import atomic_write
from colorizer.inference.checkpoints import read_checkpoint
from colorizer.weights import SHIPPED_MODEL, file_sha256

# What inference reads from the run's config; the rest (paths, loggers, data folders) stays with the run.
KEPT_CONFIG = ("model", "seed", "stages")
KEPT_DATA = ("image_size", "source_size", "crop_scale", "train_fraction", "split_seed")


def half_precision(name: str, tensor: torch.Tensor) -> torch.Tensor:
    if tensor.is_floating_point() and "running_" not in name:
        return tensor.half()
    return tensor


def pack_checkpoint(source: str | Path, target: str | Path = SHIPPED_MODEL, card: dict[str, Any] | None = None) -> str:
    """Write `source`'s net to `target` as a shipped model and return the file's SHA-256."""
    checkpoint = read_checkpoint(source)
    config = checkpoint["colorizer_config"]
    packed = {
        "colorizer_config": {
            **{key: config[key] for key in KEPT_CONFIG if key in config},
            "data": {key: config["data"][key] for key in KEPT_DATA if key in config["data"]},
        },
        "state_dict": {
            name: half_precision(name, tensor)
            for name, tensor in checkpoint["state_dict"].items()
            if name.startswith("net.") or name == "train_mean_ab"
        },
        "model_card": dict(card or {}),
    }
    atomic_write(target, lambda handle: torch.save(packed, handle))
    return file_sha256(Path(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--output", default=str(SHIPPED_MODEL))
    parser.add_argument("--card", nargs="*", default=[], help="key=value facts kept in the file (data, command)")
    arguments = parser.parse_args()
    card = dict(item.split("=", 1) for item in arguments.card)
    digest = pack_checkpoint(arguments.checkpoint, arguments.output, card)
    size = Path(arguments.output).stat().st_size / 2**20
    print(f"Wrote {arguments.output} ({size:.1f} MiB), SHA-256 {digest}")


if __name__ == "__main__":
    main()
