"""Shared fixtures: composing the Hydra config the way the entry point does."""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
SHARED_DATA = REPO.parent / "shared" / "data"

# Small and fast: enough to exercise every code path on 2 CPU cores.
TINY = [
    "data.num_images=24",
    "data.image_size=32",
    "data.batch_size=8",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory) -> Path:
    """One cache folder (decoded images, colour table) per test session, never the user's;
    subprocesses inherit the variable."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLORIZER_CACHE_DIR", str(folder))
        yield folder


def compose_config(overrides: list[str], output_dir: Path, config_name: str = "train") -> DictConfig:
    """The composed config of an entry point (`train` by default) with the run folder and the
    decode cache under `output_dir`."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.cache_dir = str(output_dir / "cache")
    return cfg


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """make_cfg(*overrides, tiny=True): a config whose outputs go to a fresh tmp folder."""

    def factory(*overrides: str, tiny: bool = True) -> DictConfig:
        chosen = list(overrides)
        file_data = any(o.startswith("data=") and o != "data=synthetic" for o in chosen)
        base = [o for o in TINY if not (file_data and o.startswith("data.num_images"))] if tiny else []
        return compose_config(base + chosen, tmp_path / "run")

    return factory


def write_images(folder: Path, count: int, size: tuple[int, int] = (40, 30), seed: int = 0) -> list[Path]:
    """Write `count` small colourful JPEG and PNG files into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        base = rng.integers(0, 256, size=3)
        gradient = np.linspace(0, 80, size[0], dtype=np.float64)[None, :, None]
        pixels = np.clip(base + gradient + rng.normal(0, 10, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
        path = folder / (f"img{i}.jpg" if i % 2 else f"img{i}.png")
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def require_shared_data(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent: real-photo tests need the shared data folder beside the repository.")
    return path


@pytest.fixture(scope="session")
def trained_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """A checkpoint per architecture, trained for one epoch on tiny synthetic data."""
    from colorizer.train import train

    checkpoints = {}
    for model, loss in (("unet", "mse"), ("cae", "mse"), ("vae", "mse")):
        folder = tmp_path_factory.mktemp(f"trained_{model}")
        cfg = compose_config([*TINY, f"model={model}", f"loss={loss}"], folder / "run")
        train(cfg)
        checkpoints[model] = folder / "run" / "checkpoints" / "last.ckpt"
    return checkpoints


@pytest.fixture(scope="session")
def hints_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """U-Nets trained with simulated hints on synthetic landscapes: a regression one that has
    learnt to follow them (about 15 s) and a tiny classification one."""
    from colorizer.train import train

    settings = {
        "regression": ["loss=mse", "data.num_images=400", "data.image_size=32", "data.batch_size=16",
                       "trainer.max_epochs=8", "model.base_width=16", "optimizer.lr=3e-3",
                       "trainer.enable_progress_bar=false"],
        "classification": [*TINY, "model/head=classification", "loss=classification"],
    }  # fmt: skip
    checkpoints = {}
    for head, overrides in settings.items():
        folder = tmp_path_factory.mktemp(f"hints_{head}")
        train(compose_config(["model.hints=true", *overrides], folder / "run"))
        checkpoints[head] = next((folder / "run" / "checkpoints").glob("best-*.ckpt"))
    return checkpoints


def evaluate_cfg(tmp_path: Path, *overrides: str) -> DictConfig:
    """The `evaluate` config, on 30 synthetic images unless `overrides` choose other data."""
    synthetic = not any(o.startswith("data=") for o in overrides)
    return compose_config(
        (["data.num_images=30"] if synthetic else []) + list(overrides), tmp_path / "eval", "evaluate"
    )


def run_train_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """`python -m colorizer.train ARGS` to completion, output captured."""
    command = [sys.executable, "-m", "colorizer.train", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def start_train_cli(*args: str) -> subprocess.Popen:
    """`python -m colorizer.train ARGS` in the background (stderr kept for the failure message)."""
    return subprocess.Popen([sys.executable, "-m", "colorizer.train", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def kill_at_step(run: list[str], run_dir: Path, step: int) -> None:
    """Start the training `run` in `run_dir`, pause it at global step `step` and SIGKILL it
    there, as a power cut would (the drill of `colorizer.bench.resume`)."""
    from colorizer.bench.resume import kill_at_step as drill

    drill(run, run_dir, step)
    assert not (run_dir / "metrics.json").exists()


def bomb_png(path: Path, side: int = 200_000) -> None:
    """A tiny PNG whose header declares side x side pixels."""
    from colorizer.bench.serve import bomb_png_bytes

    path.write_bytes(bomb_png_bytes(side))


def assert_same_test_metrics(expected_run: Path, actual_run: Path) -> None:
    """Two runs' `metrics.json` agree on every test metric (to 1e-5)."""
    expected = json.loads((expected_run / "metrics.json").read_text())
    actual = json.loads((actual_run / "metrics.json").read_text())
    test_keys = [key for key in expected if key.startswith("test/")]
    assert len(test_keys) > 10
    for key in test_keys:
        assert actual[key] == pytest.approx(expected[key], abs=1e-5), key
