"""An on-disk cache of decoded images, so the next run on the same data starts at once.

Each entry is `<key>.npy` (uint8 [N,3,S,S]) plus `<key>.json` (names, skipped files, shape
and a checksum). Both are written under temporary names and renamed, the JSON last, so a
reader sees a complete entry or none; concurrent writers of the same key both succeed.
"""

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from colorizer.data.sources import LoadedImages

log = logging.getLogger(__name__)


class ImageSource(Protocol):
    def describe(self) -> str: ...

    def cache_key(self, size: int) -> str: ...

    def load(self, size: int) -> LoadedImages: ...


def _checksum(array: np.ndarray) -> str:
    return hashlib.blake2b(memoryview(np.ascontiguousarray(array)).cast("B"), digest_size=16).hexdigest()


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_entry(array_path: Path, meta_path: Path) -> LoadedImages | None:
    """The cached entry, or None (with a warning) if it is missing, incomplete or damaged."""
    if not meta_path.is_file() or not array_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        array = np.load(array_path, allow_pickle=False)
        if list(array.shape) != meta["shape"] or array.dtype != np.uint8 or _checksum(array) != meta["checksum"]:
            raise ValueError("shape or checksum does not match")
    except Exception as error:
        log.warning("Ignoring damaged image cache %s (%s); rebuilding it.", array_path, error)
        return None
    return LoadedImages(
        images=torch.from_numpy(array),
        names=meta["names"],
        skipped=[tuple(item) for item in meta["skipped"]],
        colorless=meta["colorless"],
    )


def load_cached(source: ImageSource, size: int, cache_dir: str | Path | None) -> LoadedImages:
    """Load `source` at `size`, through the cache in `cache_dir` (no cache when None)."""
    if cache_dir is None:
        return source.load(size)
    cache_dir = Path(cache_dir).expanduser()
    key = source.cache_key(size)
    array_path, meta_path = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    cached = _read_entry(array_path, meta_path)
    if cached is not None:
        log.info("Loaded %d cached images of %s from %s", len(cached.names), source.describe(), array_path)
        return cached
    log.info("Decoding %s at %dx%d (cached afterwards in %s)", source.describe(), size, size, cache_dir)
    loaded = source.load(size)
    array = loaded.images.numpy()
    meta = {
        "shape": list(array.shape),
        "checksum": _checksum(array),
        "names": loaded.names,
        "skipped": [list(item) for item in loaded.skipped],
        "colorless": loaded.colorless,
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(array_path, lambda handle: np.save(handle, array, allow_pickle=False))
        _atomic_write(meta_path, lambda handle: handle.write(json.dumps(meta).encode()))
    except OSError as error:
        log.warning("Could not write the image cache in %s (%s); the next run will decode again.", cache_dir, error)
    return loaded
