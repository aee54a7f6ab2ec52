"""The model shipped inside the package: installed as package data, checked by hash, and better
than gray on the general test photos; predict uses it when no checkpoint is given."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from colorizer.inference import load_colorizer
from colorizer.inference.checkpoints import checkpoint_paths
from colorizer.inference.scripted import ScriptedNet, scripted_metadata
from colorizer.weights import SHIPPED_MODEL, SHIPPED_SHA256, ShippedModelError, file_sha256, shipped_model
from colorizer.weights.pack import pack_checkpoint
from tests.helpers.config import REPO
from tests.helpers.images import write_images
from tests.helpers.run_if import shared_photos

# Run from the installed copy: the shipped model against gray on the general test split
# (data.source.root=[imagenet1000, bsds500_train], seed 42: the split of every general figure).
SCORE_INSTALLED = """
import json, os, sys
import colorizer, colorizer.weights
from colorizer.data.datamodule import CachedDataModule
from colorizer.data.folder_source import FolderSource
from colorizer.evaluation.scoring import evaluate_models
from colorizer.inference import load_colorizer
from colorizer.models.baselines import GrayBaseline
model = load_colorizer(colorizer.weights.shipped_model())
cache = os.environ["COLORIZER_CACHE_DIR"]
data = CachedDataModule(FolderSource(sys.argv[1:]), image_size=model.image_size, cache_dir=cache)
data.prepare_data()
data.setup()
scores = evaluate_models({"shipped": model.net, "gray": GrayBaseline()}, data, "test", "cpu").summary
print(json.dumps({"package": colorizer.__file__, "model": str(model.path), "scores": scores}))
"""


def test_the_shipped_model_is_within_the_size_limit_and_matches_its_hash() -> None:
    assert SHIPPED_MODEL.stat().st_size <= 20 * 2**20
    assert file_sha256(SHIPPED_MODEL) == SHIPPED_SHA256
    model = load_colorizer(shipped_model())
    assert model.config["model"]["_target_"].endswith("EncoderUNet")
    L = torch.rand(2, 1, model.image_size, model.image_size)
    ab = model.net(L)
    assert ab.shape == (2, 2, model.image_size, model.image_size) and ab.dtype == torch.float32
    # It takes a person's points (the page's clicks): a red point moves the colour around it.
    hints = torch.zeros(2, 3, model.image_size, model.image_size)
    hints[:, 0, 60:68, 60:68], hints[:, 2, 60:68, 60:68] = 0.6, 1.0
    assert model.net.hints and (model.net(L, hints) - ab)[:, 0, 56:72, 56:72].mean() > 0.1


def test_no_checkpoint_given_means_the_shipped_model() -> None:
    assert checkpoint_paths(None, []) == [str(SHIPPED_MODEL)]
    assert checkpoint_paths("mine.ckpt", []) == ["mine.ckpt"]


def test_a_damaged_shipped_model_is_refused_with_what_to_do(tmp_path: Path, monkeypatch) -> None:
    damaged = tmp_path / "general.pt"
    damaged.write_bytes(SHIPPED_MODEL.read_bytes()[:-10])
    monkeypatch.setattr("colorizer.weights.SHIPPED_MODEL", damaged)
    shipped_model.cache_clear()
    try:
        with pytest.raises(ShippedModelError, match="damaged or not the one this version shipped.*reinstall"):
            shipped_model()
        damaged.unlink()
        with pytest.raises(ShippedModelError, match="missing from this installation"):
            shipped_model()
    finally:
        shipped_model.cache_clear()


def test_pack_traces_the_net_in_half_precision_and_it_loads_like_a_checkpoint(trained_checkpoints, tmp_path) -> None:
    source = trained_checkpoints["unet"]
    target = tmp_path / "packed.pt"
    digest = pack_checkpoint(source, target, {"data": "synthetic"})
    assert digest == file_sha256(target) and target.stat().st_size < source.stat().st_size / 1.8
    metadata = scripted_metadata(target)
    assert (
        set(metadata["config"]) == {"model", "seed", "stages", "data"} and metadata["model_card"]["data"] == "synthetic"
    )
    weights = {k: v for k, v in torch.jit.load(str(target)).named_parameters() if k.endswith(".weight")}
    assert weights and all(v.dtype == torch.float16 for v in weights.values())
    original, small = load_colorizer(source), load_colorizer(target)
    assert isinstance(small.net, ScriptedNet) and torch.equal(small.train_mean_ab, original.train_mean_ab)
    L = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert (original.net(L) - small.net(L)).abs().max() < 2e-2
    with pytest.raises(ValueError, match="takes 32x32 inputs only, not 48x48"):
        small.net(torch.rand(1, 1, 48, 48))


def test_the_shipped_model_loads_without_the_code_that_built_it() -> None:
    """What keeps a one-photo predict quick: timm and torchvision (about 2 s to import) stay out."""
    script = (
        "import sys, torch\n"
        "from colorizer.inference import load_colorizer\n"
        "from colorizer.weights import shipped_model\n"
        "model = load_colorizer(shipped_model())\n"
        "model.net(torch.rand(1, 1, model.image_size, model.image_size))\n"
        "print(sorted(name for name in ('timm', 'torchvision', 'lightning') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_predict_colours_photos_with_no_checkpoint_given(tmp_path: Path) -> None:
    write_images(tmp_path / "in", 2, size=(96, 64))
    command = [sys.executable, "-m", "colorizer.predict", f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}"]
    result = subprocess.run([*command, f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "out").glob("*"))) == 2


@pytest.mark.slow
def test_the_installed_package_carries_the_model_and_it_beats_gray(tmp_path: Path) -> None:
    roots = [str(shared_photos("imagenet1000")), str(shared_photos("bsds500_train"))]
    # Built from a copy, so the build leaves nothing in the repository.
    source, target = tmp_path / "source", tmp_path / "site"
    shutil.copytree(REPO / "colorizer", source / "colorizer", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target"]
    subprocess.run([*install, str(target), str(source)], check=True, capture_output=True, timeout=300)
    assert (target / "colorizer" / "weights" / "general.pt").is_file(), "the wheel carries the model as package data"

    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", SCORE_INSTALLED, *roots], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["package"].startswith(str(target)) and found["model"].startswith(str(target))
    shipped, gray = found["scores"]["shipped"], found["scores"]["gray"]
    assert shipped["psnr"] > gray["psnr"] + 0.5, (shipped["psnr"], gray["psnr"])
