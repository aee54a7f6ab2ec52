"""The model shipped with the package, so photos can be coloured before anything is trained.

`general.pt` is a trained checkpoint's net traced to TorchScript by `colorizer.weights.pack`,
its weights in half precision, with the run's config beside it (`colorizer.inference.scripted`):
it loads through the same `load_colorizer` as a checkpoint, without importing the timm and
torchvision code that built it; predict, evaluate, the page and the server use it when no
`ckpt_path` is given. It is for colouring, not for training on (fine-tune from the run's
checkpoint). What it is and how well it does: docs/model-card.md.
"""

import hashlib
from functools import cache
from pathlib import Path

from colorizer.errors import UserError

SHIPPED_MODEL = Path(__file__).with_name("general.pt")
# The file's SHA-256, written by `python -m colorizer.weights.pack`: a damaged or swapped file is refused.
SHIPPED_SHA256 = "98ba2044bf3fa873073c42dc6457657d77566daddb6ede6173a0d714de37bf1f"


class ShippedModelError(UserError, RuntimeError):
    """The shipped model's file is missing or is not the file this version shipped."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def shipped_model() -> Path:
    """The shipped model's file, after checking it is whole and the one this version shipped."""
    if not SHIPPED_MODEL.is_file():
        raise ShippedModelError(
            f"The shipped model {SHIPPED_MODEL} is missing from this installation: reinstall colorizer, "
            "or give a checkpoint of your own with ckpt_path=<file>."
        )
    found = file_sha256(SHIPPED_MODEL)
    if found != SHIPPED_SHA256:
        raise ShippedModelError(
            f"The shipped model {SHIPPED_MODEL} is damaged or not the one this version shipped (SHA-256 "
            f"{found[:12]}..., expected {SHIPPED_SHA256[:12]}...): reinstall colorizer, or give ckpt_path=<file>."
        )
    return SHIPPED_MODEL
