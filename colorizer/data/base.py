"""`ColorizationDataModule`: what every data module shares. Loaders hand out uint8 RGB batches
[B,3,S,S]; `on_after_batch_transfer` then crops them at random and flips them (training only),
resizes them to `image_size` (half of it for the first `half_size_epochs` epochs of training)
and converts them to Lab in fp32 on the device: L/100 is the input [B,1,H,W], ab/110 the target
[B,2,H,W]. Subclasses say where the uint8 images live, and at which side S (`image_size` unless
they keep larger sources)."""

from pathlib import Path

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from colorizer.data.statistics import ab_bin_prior, cached_tensor, mean_normalized_ab
from colorizer.data.transforms import lab_batch


class ColorizationDataModule(LightningDataModule):
    """Train / val / test splits of uint8 images fed to the model as L and ab."""

    # How many training images the ab-bin prior is estimated from (None: all).
    statistics_images: int | None = None

    def __init__(
        self,
        image_size: int = 64,
        batch_size: int = 32,
        num_workers: int = 0,
        flip: bool = True,
        half_size_epochs: int = 0,
        crop_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0 < crop_scale <= 1:
            raise ValueError(f"data.crop_scale must be in (0, 1] (1: no random crops), got {crop_scale}.")
        if image_size < 8:
            raise ValueError(f"data.image_size must be at least 8, got {image_size}.")
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.flip = flip
        self.half_size_epochs = half_size_epochs
        self.crop_scale = crop_scale

    def loader(self, split: str, shuffle: bool = False) -> DataLoader:
        """A loader of uint8 batches [B,3,S,S] over one split ("train", "val", "test" or "all")."""
        raise NotImplementedError

    def split_images(self, split: str, rows: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 [N,3,S,S]: the images of one split in loader order, or only those at `rows` [N]."""
        raise NotImplementedError

    def split_size(self, split: str) -> int:
        """How many images one split has."""
        raise NotImplementedError

    def split_names(self, split: str) -> list[str]:
        """File (or synthetic) names of one split, in loader order."""
        raise NotImplementedError

    def statistics_path(self, name: str, *parts: torch.Tensor | str, split: str = "train") -> Path | None:
        """Where a statistic of `split` computed from exactly `parts` is kept between runs, or None
        (computed each time)."""
        return None

    def spaced_train_rows(self, count: int | None) -> torch.Tensor:
        """Rows [N] of at most `count` evenly spaced training images (None: all of them)."""
        total = self.split_size("train")
        return torch.linspace(0, total - 1, total if count is None else min(count, total)).round().long().unique()

    def train_mean_ab(self, max_images: int = 1024) -> torch.Tensor:
        """Mean normalised ab [2] of (at most `max_images` evenly spaced) training images: the
        `mean_ab` baseline."""
        return mean_normalized_ab(self.split_images("train", self.spaced_train_rows(max_images)))

    def ab_bin_prior(self, centres: torch.Tensor, sigma: float = 5.0) -> torch.Tensor:
        """The training split's smoothed distribution [Q] over the ab bins with `centres` [Q,2], from
        `statistics_images` of them, kept at `statistics_path` for the next run."""
        rows = self.spaced_train_rows(self.statistics_images)
        path = self.statistics_path("abprior", rows, centres, str(float(sigma)))
        prior = cached_tensor(path, lambda: ab_bin_prior(self.split_images("train", rows), centres, sigma))
        return prior.to(centres.device)

    def write_skipped_files(self, directory: str | Path) -> Path:
        """Write the skipped and colourless files as `skipped_files.tsv` (file, reason) in `directory`."""
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")

    def on_after_batch_transfer(self, batch: torch.Tensor, dataloader_idx: int) -> dict[str, torch.Tensor]:
        training = self.trainer is not None and self.trainer.training
        size = self.image_size
        if training and self.trainer.current_epoch < self.half_size_epochs:
            size //= 2
        return lab_batch(batch, self.flip and training, self.crop_scale if training else 1.0, size)
