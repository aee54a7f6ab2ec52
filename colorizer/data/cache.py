"""An on-disk cache of decoded images, so the next run on the same data starts at once.

Each entry is `<key>.npy` (uint8 [N,3,S,S]) plus `<key>.json` (names, skipped files, shape
and a checksum). Both are written under temporary names and renamed, the JSON last, so a
reader sees a complete entry or none; concurrent writers of the same key both succeed.
"""

import json
import logging
import warnings
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from colorizer.atomic import atomic_write
from colorizer.data.sources import LoadedImages

log = logging.getLogger(__name__)

DEFAULT_RAM_BUDGET_GB = 8.0


class ImageSource(Protocol):
    def describe(self) -> str: ...

    def cache_key(self, size: int) -> str: ...

    def load(self, size: int) -> LoadedImages: ...


def _checksum(array: np.ndarray) -> str:
    # CRC-32 catches truncation and bit flips, which is all this guards against, 4x faster than a hash.
    return f"crc32:{zlib.crc32(memoryview(np.ascontiguousarray(array)).cast('B')):08x}"


def write_entry(
    cache_dir: Path,
    key: str,
    array: np.ndarray,
    names: list[str],
    skipped: list[tuple[str, str]],
    colorless: list[str],
) -> None:
    """Write `<key>.npy` then `<key>.json` atomically (the JSON marks the entry complete)."""
    meta = {
        "shape": list(array.shape),
        "checksum": _checksum(array),
        "names": names,
        "skipped": [list(item) for item in skipped],
        "colorless": colorless,
    }
    atomic_write(cache_dir / f"{key}.npy", lambda handle: np.save(handle, array, allow_pickle=False))
    atomic_write(cache_dir / f"{key}.json", lambda handle: handle.write(json.dumps(meta).encode()))


def read_entry(cache_dir: Path, key: str, ram_budget_gb: float = DEFAULT_RAM_BUDGET_GB) -> LoadedImages | None:
    """The cached entry, or None (with a warning) if it is missing, incomplete or damaged.

    An entry larger than `ram_budget_gb` is memory-mapped instead of read into RAM: batches
    then read their rows from the page cache.
    """
    array_path, meta_path = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    if not meta_path.is_file() or not array_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        mapped = np.load(array_path, mmap_mode="r", allow_pickle=False)
        if list(mapped.shape) != meta["shape"] or mapped.dtype != np.uint8 or _checksum(mapped) != meta["checksum"]:
            raise ValueError("shape or checksum does not match")
    except Exception as error:
        log.warning("Ignoring damaged image cache %s (%s); rebuilding it.", array_path, error)
        return None
    memory_mapped = mapped.nbytes > ram_budget_gb * 2**30
    if memory_mapped:
        log.info(
            "%s is %.1f GB, over the %.1f GB RAM budget: memory-mapping it.",
            array_path,
            mapped.nbytes / 2**30,
            ram_budget_gb,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # read-only map: batches index (copy) rows, never write
            images = torch.from_numpy(mapped)
    else:
        images = torch.from_numpy(np.array(mapped))
    return LoadedImages(
        images=images,
        names=meta["names"],
        skipped=[tuple(item) for item in meta["skipped"]],
        colorless=meta["colorless"],
        memory_mapped=memory_mapped,
    )


def ensure_cached(source: ImageSource, size: int, cache_dir: str | Path | None) -> str | None:
    """Decode and cache `source` unless a cache entry exists (no-op without a cache folder).
    Returns the entry's key (None without a cache folder)."""
    if cache_dir is None:
        return None
    key = source.cache_key(size)
    cache_dir = Path(cache_dir).expanduser()
    if not ((cache_dir / f"{key}.json").is_file() and (cache_dir / f"{key}.npy").is_file()):
        load_cached(source, size, cache_dir, key=key)
    return key


def load_cached(
    source: ImageSource,
    size: int,
    cache_dir: str | Path | None,
    ram_budget_gb: float = DEFAULT_RAM_BUDGET_GB,
    key: str | None = None,
) -> LoadedImages:
    """Load `source` at `size`, through the cache in `cache_dir` (no cache when None). `key`: the
    source's cache key when the caller has just computed it."""
    if cache_dir is None:
        return source.load(size)
    cache_dir = Path(cache_dir).expanduser()
    key = key or source.cache_key(size)
    cached = read_entry(cache_dir, key, ram_budget_gb)
    if cached is not None:
        log.info("Loaded %d cached images of %s from %s", len(cached.names), source.describe(), cache_dir / key)
        return cached
    log.info("Decoding %s at %dx%d (cached afterwards in %s)", source.describe(), size, size, cache_dir)
    loaded = source.load(size)
    try:
        write_entry(cache_dir, key, loaded.images.numpy(), loaded.names, loaded.skipped, loaded.colorless)
    except OSError as error:
        log.warning("Could not write the image cache in %s (%s); the next run will decode again.", cache_dir, error)
        return loaded
    if loaded.images.numpy().nbytes > ram_budget_gb * 2**30:
        return read_entry(cache_dir, key, ram_budget_gb) or loaded
    return loaded
