"""`python -m colorizer.weights.pack <checkpoint> [--card key=value ...]`: a trained checkpoint as
the package's shipped model: the net traced to TorchScript (it loads without timm or torchvision,
whose import is most of a one-photo predict's start), its floating-point weights in half precision
(batch-norm statistics stay in single precision), the config less what only training needs, and
the SHA-256 to paste into `colorizer/weights/__init__.py`."""

import argparse
from pathlib import Path
from typing import Any

from colorizer.inference.checkpoints import load_colorizer
from colorizer.inference.scripted import half_precision, save_scripted, scripted_metadata_of, trace
from colorizer.weights import SHIPPED_MODEL, file_sha256

# What inference reads from the run's config; the rest (paths, loggers, data folders) stays with the run.
KEPT_CONFIG = ("model", "seed", "stages")
KEPT_DATA = ("image_size", "source_size", "crop_scale", "train_fraction", "split_seed")


def pack_checkpoint(source: str | Path, target: str | Path = SHIPPED_MODEL, card: dict[str, Any] | None = None) -> str:
    """Write `source`'s net to `target` as a shipped model and return the file's SHA-256."""
    model = load_colorizer(source)
    config = model.config
    module = trace(model.net, model.image_size, model.net.hints)
    half_precision(module)
    metadata = scripted_metadata_of(model, None) | {
        "config": {
            **{key: config[key] for key in KEPT_CONFIG if key in config},
            "data": {key: config["data"][key] for key in KEPT_DATA if key in config["data"]},
        },
        "model_card": dict(card or {}),
    }
    save_scripted(module, target, metadata)
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
