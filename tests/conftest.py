"""Shared fixtures: composing the Hydra config the way the entry point does."""

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


def compose_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """The composed `train` config with the run folder and the decode cache under `output_dir`."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
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
