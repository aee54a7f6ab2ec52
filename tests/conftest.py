"""The tests' shared fixtures; what they share besides lives in `tests.helpers`."""

from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from tests.helpers.config import TINY, compose_config


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory) -> Path:
    """One cache folder (decoded images, colour table) per test session, never the user's;
    subprocesses inherit the variable."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLORIZER_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """make_cfg(*overrides, tiny=True): a config whose outputs go to a fresh tmp folder."""

    def factory(*overrides: str, tiny: bool = True) -> DictConfig:
        chosen = list(overrides)
        file_data = any(o.startswith("data=") and o != "data=synthetic" for o in chosen)
        base = [o for o in TINY if not (file_data and o.startswith("data.source.num_images"))] if tiny else []
        return compose_config(base + chosen, tmp_path / "run")

    return factory


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
        "regression": [
            "loss=mse",
            "data.source.num_images=400",
            "data.image_size=32",
            "data.batch_size=16",
            "trainer.max_epochs=8",
            "model.base_width=16",
            "optimizer.lr=3e-3",
            "trainer.enable_progress_bar=false",
        ],
        "classification": [*TINY, "model/head=classification", "loss=classification"],
    }
    checkpoints = {}
    for head, overrides in settings.items():
        folder = tmp_path_factory.mktemp(f"hints_{head}")
        train(compose_config(["model.hints=true", *overrides], folder / "run"))
        checkpoints[head] = next((folder / "run" / "checkpoints").glob("best-*.ckpt"))
    return checkpoints
