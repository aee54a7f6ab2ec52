"""`CachedDataModule`: the images of a source (`data.source`: folders, the Kaggle layout, the
synthetic landscapes) decoded once into a uint8 tensor (cached on disk), split by fraction and
seed. The loader hands out whole uint8 batches with one indexing operation;
Lab conversion happens on the device (`ColorizationDataModule`).
"""

import logging
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from colorizer.data.base import ColorizationDataModule
from colorizer.data.cache import ensure_cached, load_cached
from colorizer.data.defaults import RAM_BUDGET_GB, SPLIT_FRACTIONS
from colorizer.data.sources import ImageSource, LoadedImages, write_skipped_tsv
from colorizer.data.splits import check_split_config, keep_share, split_indices
from colorizer.data.statistics import content_digest
from colorizer.data.transforms import resize_to
from colorizer.data.uint8_images import UInt8Images, keep_batch

log = logging.getLogger(__name__)


class CachedDataModule(ColorizationDataModule):
    """Splits decoded images into train / val / test and feeds L and ab to the model.

    `source` says where the images come from (`colorizer.data.sources`). Images the source
    marks as train-only (`FolderSource(train_only_root=...)`) join the training split alone; the
    split is cut from the others, so it is the same with or without them. Splits are fractions with a
    seed; with `num_folds > 1` validation rotates through folds of the non-test part. A decoded
    set larger than `ram_budget_gb` is memory-mapped from the cache file instead of held in RAM.
    For the first `half_size_epochs` epochs training batches are shrunk to half the image size
    (progressive resizing: those steps cost a quarter); validation and test always see full size.

    `source_size` (None: `image_size`): the side the images are decoded and cached at. A larger one
    gives the random crops (`crop_scale`) the photo's own detail: a crop of a quarter of the area
    of a 256 px source is 128 px of real pixels, not 64 px enlarged. Every split is handed to the
    model at `image_size` (whole images shrunk, exactly, by `resize_to`).

    `train_fraction` (1: all) trains on that share of the training split, a subset fixed by
    `split_seed` (a smaller share's photos are among a larger share's), while validation and test
    stay as they are: a learning curve over the number of training photos.
    """

    def __init__(
        self,
        source: ImageSource,
        image_size: int = 64,
        batch_size: int = 32,
        num_workers: int = 0,
        splits: dict[str, float] | None = None,
        split_seed: int = 42,
        num_folds: int = 1,
        fold: int = 0,
        flip: bool = True,
        half_size_epochs: int = 0,
        crop_scale: float = 1.0,
        cache_dir: str | None = None,
        ram_budget_gb: float = RAM_BUDGET_GB,
        source_size: int | None = None,
        train_fraction: float = 1.0,
    ) -> None:
        super().__init__(image_size, batch_size, num_workers, flip, half_size_epochs, crop_scale)
        if not 0 < train_fraction <= 1:
            raise ValueError(f"data.train_fraction={train_fraction} is not a share in (0, 1] of the training photos.")
        self.train_fraction = train_fraction
        self.source_size = source_size or image_size
        if self.source_size < image_size:
            raise ValueError(
                f"data.source_size={source_size} is smaller than data.image_size={image_size}: "
                "sources are cached at least at the size the model sees (null: the same)."
            )
        self.splits = dict(splits or SPLIT_FRACTIONS)
        self.split_seed = split_seed
        self.num_folds = num_folds
        self.fold = fold
        self.cache_dir = cache_dir
        self.ram_budget_gb = ram_budget_gb
        check_split_config(self.splits, num_folds, fold)
        self.source = source
        self.loaded: LoadedImages | None = None
        self.prepared_key: str | None = None
        self.indices: dict[str, torch.Tensor] = {}

    def prepare_data(self) -> None:
        # Once per machine, before `setup` runs in every process: fill the cache, do not load it.
        self.prepared_key = ensure_cached(self.source, self.source_size, self.cache_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.loaded is not None:
            return
        # In the process that prepared the data, its key saves listing and stat-ing every file again;
        # elsewhere (evaluate) the key is computed here, as load_cached would, and kept for statistics_path.
        self.prepared_key = self.prepared_key or self.source.cache_key(self.source_size)
        self.loaded = load_cached(self.source, self.source_size, self.cache_dir, self.ram_budget_gb, self.prepared_key)
        self._warn_about_left_out()
        count = len(self.loaded.names)
        train_only = self.source.train_only_rows(self.loaded.names)
        held = (~train_only).nonzero().flatten()
        if len(held) == 0:
            raise ValueError(
                "Every usable image is from data.source.train_only_root: data.source.root needs some to hold out."
            )
        # The split is cut from the other images alone, so it is the same with or without the extra ones.
        parts = split_indices(len(held), self.splits, self.split_seed, self.num_folds, self.fold)
        self.indices = {split: held[rows] for split, rows in parts.items()}
        train = torch.cat([self.indices["train"], train_only.nonzero().flatten()])
        self.indices["train"] = keep_share(train, self.train_fraction, self.split_seed).sort().values
        self.indices["all"] = torch.arange(count)
        log.info(
            "Data: %d train (%d of them train only), %d val, %d test images at %dx%d (cached at %d)",
            len(self.indices["train"]),
            int(train_only[self.indices["train"]].sum()),
            len(self.indices["val"]),
            len(self.indices["test"]),
            self.image_size,
            self.image_size,
            self.source_size,
        )

    def _warn_about_left_out(self) -> None:
        skipped, colorless = self.loaded.skipped, self.loaded.colorless
        if skipped:
            first = "; ".join(f"{name} ({reason})" for name, reason in skipped[:3])
            log.warning(
                "Skipped %d unreadable file(s), e.g. %s. The full list is in skipped_files.tsv in the run folder.",
                len(skipped),
                first,
            )
        if colorless:
            log.warning("Left out %d image(s) with no colour at all, e.g. %s.", len(colorless), colorless[0])

    def write_skipped_files(self, directory: str | Path) -> Path:
        self.setup()  # a no-op after fitting here; needed after ddp_spawn fitted in child processes
        return write_skipped_tsv(directory, self.loaded.skipped, self.loaded.colorless)

    def statistics_path(self, name: str, *parts: torch.Tensor | str, split: str = "train") -> Path | None:
        if self.cache_dir is None or self.prepared_key is None:
            return None
        digest = content_digest(self.indices[split], str(self.image_size), *parts)
        return Path(self.cache_dir).expanduser() / f"{self.prepared_key}-{name}-{digest}.pt"

    def split_images(self, split: str, rows: torch.Tensor | None = None) -> torch.Tensor:
        indices = self.indices[split]
        images = self.loaded.images[indices if rows is None else indices[rows]]
        if self.source_size == self.image_size:
            return images
        return resize_to(images, self.image_size).round().to(torch.uint8)

    def split_size(self, split: str) -> int:
        return len(self.indices[split])

    def split_names(self, split: str) -> list[str]:
        return [self.loaded.names[i] for i in self.indices[split].tolist()]

    def loader(self, split: str, shuffle: bool = False) -> DataLoader:
        return DataLoader(
            UInt8Images(self.loaded.images, self.indices[split]),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=keep_batch,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
        )
