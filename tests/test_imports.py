"""Using a model loads only what using it needs: no Lightning, torchmetrics or torchvision."""

import subprocess
import sys

import pytest

from tests.helpers.config import REPO
from tests.helpers.run_if import needs

TRAINING_ONLY = ("lightning", "pytorch_lightning", "torchmetrics", "torchvision")


@pytest.mark.parametrize(
    "modules",
    [
        "colorizer.inference, colorizer.inference.pipeline, colorizer.inference.outputs",
        "colorizer.predict, colorizer.export",
        "colorizer.serve.server",
        "colorizer.app.page",
    ],
)
def test_inference_entry_points_import_nothing_of_training(modules) -> None:
    needs("litserve" if "serve" in modules else "torch")
    needs("gradio" if "app" in modules else "torch")
    script = f"import sys; import {modules}; print(' '.join({{m.split('.')[0] for m in sys.modules}}))"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = set(result.stdout.split())
    assert "torch" in loaded and "colorizer" in loaded, "the probe imported what it names"
    assert not loaded & set(TRAINING_ONLY), f"{modules} loaded {sorted(loaded & set(TRAINING_ONLY))}"


def test_training_does_load_lightning() -> None:
    """The probe above can fail: the training module's import does load Lightning."""
    script = "import sys; import colorizer.training.module; print('lightning' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "True", result.stderr[-2000:]
