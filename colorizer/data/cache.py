"""An on-disk cache of decoded images, so the next run on the same data starts at once.

Each entry is `<key>.npy` (uint8 [N,3,S,S]) plus `<key>.json` (names, what was left out, the
shape, the file's size and modification time, and a CRC per chunk of rows). The JSON is
written last, so a reader sees a complete entry or none; one process builds a key at a time
(a lock file), the others then read what it built. A folder is decoded in bounded memory and
resumably (`cache_build`).

Checks at start cost O(1) for a memory-mapped entry (size and modification time against the
JSON; the CRCs were computed at build) and nothing extra for one read into RAM (each chunk's
CRC is checked as it is copied). A damaged or half-written entry is rebuilt.
"""

import contextlib
import fcntl
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorizer.atomic import atomic_write
from colorizer.data.cache_build import build_entry, chunk_checksum
from colorizer.data.defaults import RAM_BUDGET_GB
from colorizer.data.sources import ImageSource, LoadedImages, decode_all

log = logging.getLogger(__name__)


def _chunk_bounds(chunk_rows: list[int]) -> Iterator[tuple[int, int]]:
    start = 0
    for rows in chunk_rows:
        yield start, start + rows
        start += rows


def _finish_entry(cache_dir: Path, key: str, meta: dict[str, Any]) -> None:
    """Write `<key>.json` for the complete `<key>.npy`, adding the file's size and modification
    time that every start compares."""
    stat = (cache_dir / f"{key}.npy").stat()
    meta = {**meta, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    atomic_write(cache_dir / f"{key}.json", lambda handle: handle.write(json.dumps(meta).encode()))


def _read_checked(mapped: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """The rows copied into RAM a chunk at a time, each chunk's CRC checked on the way."""
    images = np.empty(mapped.shape, dtype=np.uint8)
    for (start, end), expected in zip(_chunk_bounds(meta["chunk_rows"]), meta["chunk_checksums"], strict=True):
        images[start:end] = mapped[start:end]
        if chunk_checksum(images[start:end]) != expected:
            raise ValueError(f"rows {start}-{end} do not match their checksum")
    return images


def read_entry(cache_dir: Path, key: str, ram_budget_gb: float = RAM_BUDGET_GB) -> LoadedImages | None:
    """The cached entry, or None (with a warning) if it is missing, incomplete or damaged.

    An entry larger than `ram_budget_gb` is memory-mapped instead of read into RAM: batches
    then read their rows from the page cache.
    """
    array_path, meta_path = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    if not meta_path.is_file() or not array_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        stat = array_path.stat()
        if (stat.st_size, stat.st_mtime_ns) != (meta["size_bytes"], meta["mtime_ns"]):
            raise ValueError("its size or modification time changed since it was written")
        mapped = np.load(array_path, mmap_mode="r", allow_pickle=False)
        if list(mapped.shape) != meta["shape"] or mapped.dtype != np.uint8 or sum(meta["chunk_rows"]) != len(mapped):
            raise ValueError("its shape does not match")
        memory_mapped = mapped.nbytes > ram_budget_gb * 2**30
        in_ram = None if memory_mapped else _read_checked(mapped, meta)
    except Exception as error:
        log.warning("Ignoring damaged image cache %s (%s); rebuilding it.", array_path, error)
        return None
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
        images = torch.from_numpy(in_ram)
    return LoadedImages(
        images=images,
        names=meta["names"],
        skipped=[tuple(item) for item in meta["skipped"]],
        colorless=meta["colorless"],
        memory_mapped=memory_mapped,
    )


@contextlib.contextmanager
def _building(cache_dir: Path, key: str) -> Iterator[None]:
    """One builder per key across processes; the others wait, then read what it built."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f"{key}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
    ram_budget_gb: float = RAM_BUDGET_GB,
    key: str | None = None,
) -> LoadedImages:
    """Load `source` at `size`, through the cache in `cache_dir` (no cache when None). `key`: the
    source's cache key when the caller has just computed it."""
    if cache_dir is None:
        return decode_all(source, size)
    cache_dir = Path(cache_dir).expanduser()
    key = key or source.cache_key(size)
    cached = read_entry(cache_dir, key, ram_budget_gb)
    if cached is None:
        try:
            with _building(cache_dir, key):
                cached = read_entry(cache_dir, key, ram_budget_gb)  # built by another process meanwhile?
                if cached is None:
                    log.info("Decoding %s at %dx%d (cached afterwards in %s)", source.describe(), size, size, cache_dir)
                    _finish_entry(cache_dir, key, build_entry(source, size, cache_dir, key))
                    cached = read_entry(cache_dir, key, ram_budget_gb)
        except FileNotFoundError:
            raise  # no images: nothing a cache could fix
        except OSError as error:
            log.warning("Could not write the image cache in %s (%s); decoding without it.", cache_dir, error)
            return decode_all(source, size)
    if cached is None:
        raise RuntimeError(f"The image cache {cache_dir / key} was written but cannot be read back.")
    log.info("Loaded %d cached images of %s from %s", len(cached.names), source.describe(), cache_dir / key)
    return cached
