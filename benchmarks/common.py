"""What every benchmark section shares: where the photos are, test folders of images, peak memory."""

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image

from colorizer.config import REPO, compose_command_config
from colorizer.data.base import ColorizationDataModule
from colorizer.data.synthetic import synthetic_landscapes
from tests.helpers.memory import peak_rss_mb
from tests.helpers.run_if import SHARED_DATA

__all__ = ["REPO", "build_datamodule", "compose_train_config", "peak_rss_mb", "photo_folder"]

# The command line's defaults for its photo folders (--landscapes, --photos, --general): the shared
# photos beside this repository where they are; every section takes its folders as arguments.
DEFAULT_LANDSCAPES = SHARED_DATA / "landscapes150" / "color"
DEFAULT_PHOTOS = SHARED_DATA / "bsds500_train"
# General photos: one ImageNet photo per class and BSDS500's training photos, split as one set.
DEFAULT_GENERAL = [SHARED_DATA / "imagenet1000", DEFAULT_PHOTOS]


def compose_train_config(overrides: list[str]) -> DictConfig:
    """The config `python -m colorizer.train <overrides>` runs with, so that a benchmark cannot drift from it."""
    return compose_command_config("train", overrides)


def build_datamodule(overrides: list[str]) -> ColorizationDataModule:
    """The data module `python -m colorizer.train <overrides>` trains on."""
    return instantiate(compose_train_config(overrides).data)


def synthetic_folder(count: int, workdir: Path) -> Path:
    """`count` synthetic 150x150 JPEGs written to `workdir/photos`."""
    folder = workdir / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(synthetic_landscapes(count, 150, seed=7)):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{index}.jpg", quality=90)
    return folder


def photo_folder(count: int, workdir: Path, landscapes: Path) -> Path:
    """The shared landscape photos when present, else `count` synthetic JPEGs."""
    return landscapes if landscapes.is_dir() else synthetic_folder(count, workdir)
