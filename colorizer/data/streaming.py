"""`data=streaming`: train from LitData chunks that `python -m colorizer.prepare` wrote, locally or
in object storage, from any number of nodes and ranks.

`<root>/train`, `<root>/val` and `<root>/test` are LitData datasets of items {"image": uint8
[3,S,S], "name": str}; `<root>/colorizer.json` records the image size, the split settings and
what was left out. LitData's `StreamingDataset` gives each rank (and loader worker) its own
share, and its `StreamingDataLoader` is stateful: Lightning saves its position in every
checkpoint and restores it on resume, mid-epoch included.
"""

import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:
    from litdata import StreamingDataLoader, StreamingDataset
except ImportError as error:
    raise ImportError("data=streaming and colorizer.prepare need LitData: pip install -e '.[streaming]'") from error

from colorizer.data.base import ColorizationDataModule
from colorizer.data.sources import write_skipped_tsv
from colorizer.data.statistics import content_digest

log = logging.getLogger(__name__)

PREPARED_INFO = "colorizer.json"
SPLITS = ("train", "val", "test")


def is_remote(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


def read_prepared_info(root: str) -> dict[str, Any]:
    """`<root>/colorizer.json`, from a folder or an object-store URL."""
    if not is_remote(root):
        path = Path(root.removeprefix("file://")).expanduser() / PREPARED_INFO
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: data=streaming reads what `python -m colorizer.prepare "
                f"output_dir={root}` writes. Run that first, or point data.root at its output_dir."
            )
        return json.loads(path.read_text())
    # LitData's own storage client (S3, GCS, Azure, HF) fetches the small file; no second client to configure.
    from litdata.streaming.fs_provider import _get_fs_provider

    with tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / PREPARED_INFO
        _get_fs_provider(root).download_file(f"{root}/{PREPARED_INFO}", str(local))
        return json.loads(local.read_text())


def image_of(item: dict[str, Any]) -> torch.Tensor:
    """A stored item -> its uint8 image [3,S,S] (a module-level function: loader workers pickle it)."""
    return torch.from_numpy(np.ascontiguousarray(item["image"]))


class EpochAwareStreamingDataLoader(StreamingDataLoader):
    """LitData's loader, with the next epoch after a mid-epoch resume fixed.

    `load_state_dict` sets LitData's `restore` flag so that the next pass replays the saved
    position; only a pass iterated to exhaustion clears it. Lightning ends an epoch by its batch
    count instead, so the flag stayed set and the epoch after a resumed one repeated the resumed
    epoch's order (the class of bug of LitData issues #760 and #770). Here a pass that starts
    after a restored pass has yielded batches is a new epoch.
    """

    restored_batches = 0  # batches yielded since the last load_state_dict

    def load_state_dict(self, obj: dict[str, Any]) -> None:
        super().load_state_dict(obj)
        self.restored_batches = 0

    def __iter__(self) -> Iterator[Any]:
        if self.restore and self.restored_batches > 0:
            self.restore = False
        for batch in super().__iter__():
            if self.restore:
                self.restored_batches += 1
            yield batch


class StreamingDataModule(ColorizationDataModule):
    """Train / val / test from prepared LitData chunks at `root` (a folder or s3://, gs://, ... URL).

    The splits are the ones `prepare` recorded; `seed` shuffles the training split each epoch.
    Remote chunks are cached in `stream_cache_dir` up to `max_cache_size`. Statistics of the
    training split (the mean ab, the ab-bin prior) are estimated from at most `statistics_images`
    evenly spaced training images, so that a start does not read the whole set.
    """

    def __init__(
        self,
        root: str,
        seed: int = 42,
        stream_cache_dir: str | None = None,
        max_cache_size: str = "25GB",
        statistics_images: int = 20000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.root = str(root).rstrip("/")
        self.seed = seed
        self.stream_cache_dir = stream_cache_dir
        self.max_cache_size = max_cache_size
        self.statistics_images = statistics_images
        self.info: dict[str, Any] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.info is not None:
            return
        info = read_prepared_info(self.root)
        if info["image_size"] != self.image_size:
            raise ValueError(
                f"{self.root} was prepared at {info['image_size']}x{info['image_size']}, not "
                f"data.image_size={self.image_size}: set data.image_size={info['image_size']}, or prepare again."
            )
        self.info = info
        log.info(
            "Data: %s train, %s val, %s test images at %dx%d streamed from %s",
            *(info["counts"][s] for s in SPLITS),
            self.image_size,
            self.image_size,
            self.root,
        )

    def dataset(self, split: str, shuffle: bool = False, images: bool = True) -> StreamingDataset:
        """The LitData dataset of one split: uint8 images [3,S,S], or the stored items with `images=False`."""
        if split not in SPLITS:
            raise ValueError(f"data=streaming has the splits {', '.join(SPLITS)}, not {split!r}.")
        cache_dir = None
        if self.stream_cache_dir is not None:
            cache_dir = str(Path(self.stream_cache_dir).expanduser() / content_digest(self.root, split))
        return StreamingDataset(
            f"{self.root}/{split}",
            cache_dir=cache_dir,
            shuffle=shuffle,
            seed=self.seed,
            max_cache_size=self.max_cache_size,
            transform=image_of if images else None,
            # Validation and test see every image once, whatever the number of ranks.
            drop_last=None if split == "train" else False,
        )

    def loader(self, split: str, shuffle: bool = False) -> StreamingDataLoader:
        return EpochAwareStreamingDataLoader(
            self.dataset(split, shuffle=shuffle),
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
            # Its own generator: each pass draws a worker seed, which must not shift the global RNG
            # that flips and dropout use (a mid-epoch resume starts a pass the saved run had already started).
            generator=torch.Generator().manual_seed(self.seed),
        )

    def split_size(self, split: str) -> int:
        self.setup()
        return int(self.info["counts"][split])

    def split_images(self, split: str, rows: torch.Tensor | None = None) -> torch.Tensor:
        data = self.dataset(split)
        picked = range(len(data)) if rows is None else rows.tolist()
        if len(picked) == 0:
            return torch.empty(0, 3, self.image_size, self.image_size, dtype=torch.uint8)
        return torch.stack([data[int(row)] for row in picked])

    def split_names(self, split: str) -> list[str]:
        data = self.dataset(split, images=False)
        return [data[row]["name"] for row in range(len(data))]

    def statistics_path(self, name: str, *parts: torch.Tensor | str, split: str = "train") -> Path | None:
        if self.stream_cache_dir is None:
            return None
        digest = content_digest(self.root, split, str(self.image_size), *parts)
        return Path(self.stream_cache_dir).expanduser() / f"{name}-{digest}.pt"

    def write_skipped_files(self, directory: str | Path) -> Path:
        self.setup()
        return write_skipped_tsv(directory, [tuple(item) for item in self.info["skipped"]], self.info["colorless"])
