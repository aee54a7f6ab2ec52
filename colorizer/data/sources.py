"""Where images come from (`data.source`), decoded once by the cached data module: what every
source offers (`ImageSource`), what decoding yields, and the synthetic generator. Folders of
files are `colorizer.data.folder_source`."""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from colorizer.data.synthetic import render_landscape

# Bump when decoding, resizing or the cache format changes, so old cache files are not reused.
DECODE_VERSION = 3


@dataclass
class LoadedImages:
    """Decoded images (uint8 [N,3,S,S]) with their names, and what was left out and why.
    `memory_mapped`: the images are a read-only map of the cache file, not in RAM."""

    images: torch.Tensor
    names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    colorless: list[str] = field(default_factory=list)
    memory_mapped: bool = False


class ImageSource(Protocol):
    """Where a data module's images come from: items (files, indices) decoded a chunk at a time."""

    def describe(self) -> str: ...

    def cache_key(self, size: int) -> str: ...

    def items(self) -> list: ...

    def decode(self, items: list, size: int, pool: ThreadPoolExecutor) -> "DecodedFiles": ...

    def nothing_usable(self, items: int, unreadable: int, colorless: int) -> FileNotFoundError: ...

    def train_only_rows(self, names: list[str]) -> torch.Tensor: ...


class SyntheticSource:
    """`num_images` procedural landscapes (see `colorizer.data.synthetic`)."""

    def __init__(self, num_images: int = 1000, seed: int = 0) -> None:
        if num_images < 3:
            raise ValueError(f"data.source.num_images must be at least 3 (train, val and test), got {num_images}.")
        self.num_images = num_images
        self.seed = seed

    def describe(self) -> str:
        return f"{self.num_images} synthetic landscapes (seed {self.seed})"

    def cache_key(self, size: int) -> str:
        return f"synthetic-n{self.num_images}-seed{self.seed}-s{size}-v{DECODE_VERSION}"

    def items(self) -> list[int]:
        """The indices of the images; image i depends only on (seed, i)."""
        return list(range(self.num_images))

    def decode(self, indices: list[int], size: int, pool: ThreadPoolExecutor) -> "DecodedFiles":
        """Render the images with these indices (every one is usable; `pool` is unused: numpy holds the GIL)."""
        images = [render_landscape(np.random.default_rng([self.seed, i]), size) for i in indices]
        return DecodedFiles(images=images, names=[f"synthetic_{i}" for i in indices])

    def nothing_usable(self, items: int, unreadable: int, colorless: int) -> FileNotFoundError:
        return FileNotFoundError(f"None of the {items} synthetic landscapes is usable.")

    def train_only_rows(self, names: list[str]) -> torch.Tensor:
        """bool [N]: every landscape may be held out."""
        return torch.zeros(len(names), dtype=torch.bool)


@dataclass
class DecodedFiles:
    """Some files decoded: the usable images (uint8 [S,S,3] each) with their names, and what was left out."""

    images: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    colorless: list[str] = field(default_factory=list)

    def rows(self) -> np.ndarray:
        """The usable images as contiguous uint8 [N,3,S,S] (no bytes when there are none)."""
        if not self.images:
            return np.empty(0, np.uint8)
        return np.ascontiguousarray(np.stack(self.images).transpose(0, 3, 1, 2))


def decode_all(source: ImageSource, size: int) -> LoadedImages:
    """Every image of `source` in RAM at once, for runs without a cache folder (`cache_build` is
    the bounded-memory way). Raises FileNotFoundError when none is usable."""
    items = source.items()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decoded = source.decode(items, size, pool)
    if not decoded.names:
        raise source.nothing_usable(len(items), len(decoded.skipped), len(decoded.colorless))
    return LoadedImages(
        images=torch.from_numpy(decoded.rows()),
        names=decoded.names,
        skipped=decoded.skipped,
        colorless=decoded.colorless,
    )


def write_skipped_tsv(directory: str | Path, skipped: list[tuple[str, str]], colorless: list[str]) -> Path:
    """`skipped_files.tsv` (file, reason) in `directory`: unreadable files and images without colour."""
    path = Path(directory) / "skipped_files.tsv"
    rows = list(skipped) + [(name, "no colour (grayscale image)") for name in colorless]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("file\treason\n" + "".join(f"{n}\t{r.replace(chr(9), ' ')}\n" for n, r in rows))
    return path
