"""Data: image sources, the decode cache, the Lab data modules and streaming from LitData chunks."""

from colorizer.data.base import ColorizationDataModule
from colorizer.data.datamodule import (
    ImageFolderDataModule,
    KaggleLandscapeDataModule,
    LabColorizationDataModule,
    SyntheticLandscapeDataModule,
)
from colorizer.data.transforms import lab_batch

__all__ = [
    "ColorizationDataModule",
    "ImageFolderDataModule",
    "KaggleLandscapeDataModule",
    "LabColorizationDataModule",
    "SyntheticLandscapeDataModule",
    "lab_batch",
]
