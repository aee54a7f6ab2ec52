"""Data: image sources, the decode cache and the Lab data modules."""

from colorizer.data.datamodule import (
    ImageFolderDataModule,
    KaggleLandscapeDataModule,
    LabColorizationDataModule,
    SyntheticLandscapeDataModule,
    lab_batch,
)

__all__ = [
    "ImageFolderDataModule",
    "KaggleLandscapeDataModule",
    "LabColorizationDataModule",
    "SyntheticLandscapeDataModule",
    "lab_batch",
]
