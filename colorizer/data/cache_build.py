"""Building a cache entry in bounded memory, resumably.

A source's items (files, or synthetic indices) are decoded a chunk at a time by a thread pool
and written straight into the preallocated `<key>.npy.partial` with plain file writes (so
written images sit in the page cache, not in this process). After each chunk its rows are
synced and a small record of the chunk (names, what was left out, row count, CRC) is written to
`<key>.parts/`; a build that is interrupted resumes after the last recorded chunk. At the end
the header is rewritten with the final count, the file is cut to size and renamed, and the
entry's JSON is written last. Peak memory is a chunk of decoded images, whatever the number of
items.
"""

import json
import logging
import os
import shutil
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from colorizer.atomic import atomic_write
from colorizer.data.sources import ImageSource

log = logging.getLogger(__name__)

CHUNK_IMAGES = 1024


def chunk_checksum(rows: np.ndarray) -> str:
    # CRC-32, not a cryptographic hash: it catches truncation and bit flips, all this guards against.
    return f"crc32:{zlib.crc32(memoryview(np.ascontiguousarray(rows)).cast('B')):08x}"


def data_offset(path: Path) -> int:
    """Where the rows start in a `.npy` file."""
    with path.open("rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        read_header(handle)
        return handle.tell()


def _write_header(path: Path, shape: tuple[int, ...], offset: int) -> None:
    """Rewrite the header in place for `shape`; numpy pads headers so that the first axis can change."""
    header = {"descr": "|u1", "fortran_order": False, "shape": shape}
    with path.open("r+b") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        if handle.tell() != offset:
            raise RuntimeError(f"The rewritten header of {path} is {handle.tell()} bytes, not {offset}.")


def _recorded_chunks(parts: Path, expected: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks an earlier build of the same files finished, in order, or [] to start over."""
    records = []
    for index in range(len(list(parts.glob("chunk-*.json")))):
        try:
            record = json.loads((parts / f"chunk-{index:06d}.json").read_text())
        except (OSError, ValueError):
            break
        if {k: record.get(k) for k in expected} != expected:
            return []
        records.append(record)
    return records


def build_entry(
    source: ImageSource, size: int, cache_dir: Path, key: str, chunk_images: int | None = None
) -> dict[str, Any]:
    """Decode every item of `source` at `size` into `<key>.npy`, `chunk_images` (default
    CHUNK_IMAGES) at a time, and return the entry's metadata (the caller writes it as
    `<key>.json`). Raises FileNotFoundError when no item is usable."""
    chunk_images = chunk_images or CHUNK_IMAGES
    files = source.items()
    partial, parts = cache_dir / f"{key}.npy.partial", cache_dir / f"{key}.parts"
    row_bytes = 3 * size * size
    expected = {"files": len(files), "chunk_images": chunk_images, "size": size}
    records = _recorded_chunks(parts, expected) if partial.is_file() else []
    if records:
        log.info(
            "Resuming the cache build of %s after %d of %d files",
            source.describe(),
            len(records) * chunk_images,
            len(files),
        )
    else:
        shutil.rmtree(parts, ignore_errors=True)
        parts.mkdir(parents=True)
        np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(files), 3, size, size)).flush()
    offset = data_offset(partial)
    rows_done = sum(record["rows"] for record in records)
    started, first = time.perf_counter(), len(records) * chunk_images
    with partial.open("r+b") as handle, ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for index in range(len(records), (len(files) + chunk_images - 1) // chunk_images):
            chunk = files[index * chunk_images : (index + 1) * chunk_images]
            decoded = source.decode(chunk, size, pool)
            rows = decoded.rows()
            handle.seek(offset + rows_done * row_bytes)
            handle.write(memoryview(rows).cast("B"))
            handle.flush()
            os.fsync(handle.fileno())
            record = {
                **expected,
                "rows": len(decoded.names),
                "checksum": chunk_checksum(rows),
                "names": decoded.names,
                "skipped": decoded.skipped,
                "colorless": decoded.colorless,
            }
            atomic_write(parts / f"chunk-{index:06d}.json", lambda out, r=record: out.write(json.dumps(r).encode()))
            records.append(record)
            rows_done += len(decoded.names)
            done = min(len(files), (index + 1) * chunk_images)
            rate = (done - first) / max(time.perf_counter() - started, 1e-9)
            log.info(
                "Cached %d/%d files (%.0f images/s, %.0f s left)",
                done,
                len(files),
                rate,
                (len(files) - done) / max(rate, 1e-9),
            )
    if rows_done == 0:
        unreadable, colorless = (sum(len(r[kind]) for r in records) for kind in ("skipped", "colorless"))
        raise source.nothing_usable(len(files), unreadable, colorless)
    _write_header(partial, (rows_done, 3, size, size), offset)
    os.truncate(partial, offset + rows_done * row_bytes)
    os.replace(partial, cache_dir / f"{key}.npy")
    shutil.rmtree(parts, ignore_errors=True)
    return {
        "shape": [rows_done, 3, size, size],
        "chunk_rows": [r["rows"] for r in records],
        "chunk_checksums": [r["checksum"] for r in records],
        "names": [name for r in records for name in r["names"]],
        "skipped": [item for r in records for item in r["skipped"]],
        "colorless": [name for r in records for name in r["colorless"]],
    }
