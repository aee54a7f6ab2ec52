"""The cache of a folder is built in bounded memory, checked cheaply, and resumed after a kill."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from colorizer.data import cache_build
from colorizer.data.cache import load_cached, read_entry
from colorizer.data.folder_source import FolderSource
from colorizer.data.sources import decode_all
from tests.helpers.config import REPO
from tests.helpers.images import write_images

PEAK_RSS_SCRIPT = """
import sys
from tests.helpers.memory import peak_rss_mb
from colorizer.data import cache_build
from colorizer.data.cache import load_cached
from colorizer.data.folder_source import FolderSource
source = FolderSource(sys.argv[1])
cache_build.build_entry(source, 128, __import__("pathlib").Path(sys.argv[2]), "entry", chunk_images=64)
print(int(peak_rss_mb()))
"""


def noisy_folder(folder, count: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(folder / f"{index:05d}.bmp")


def run_script(script: str, *args) -> str:
    """`script` run by a fresh Python (its own peak RSS) from the repository; its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def peak_rss_mb(folder, cache) -> int:
    return int(run_script(PEAK_RSS_SCRIPT, folder, cache).split()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_images(tmp_path) -> None:
    noisy_folder(tmp_path / "small", 200)
    noisy_folder(tmp_path / "large", 1600)  # 1600 x 48 KB = 79 MB of decoded images
    small, large = peak_rss_mb(tmp_path / "small", tmp_path / "c1"), peak_rss_mb(tmp_path / "large", tmp_path / "c2")
    assert 100 < small and large - small < 25, f"peak RSS {small} MB for 200 images, {large} MB for 1600"
    array = np.load(tmp_path / "c2" / "entry.npy", mmap_mode="r")
    assert array.shape == (1600, 3, 128, 128)
    expected = np.asarray(Image.open(tmp_path / "large" / "01234.bmp")).transpose(2, 0, 1)
    assert np.array_equal(array[1234], expected), "row i is file i"


def test_a_damaged_chunk_is_detected_and_rebuilt(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cache_build, "CHUNK_IMAGES", 4)
    write_images(tmp_path / "photos", 10, size=(24, 20))
    source = FolderSource(tmp_path / "photos")
    first = load_cached(source, 16, tmp_path / "cache")
    key = source.cache_key(16)
    meta = json.loads((tmp_path / "cache" / f"{key}.json").read_text())
    assert meta["chunk_rows"] == [4, 4, 2] and len(meta["chunk_checksums"]) == 3
    npy = tmp_path / "cache" / f"{key}.npy"
    stat = npy.stat()
    with npy.open("r+b") as handle:  # one flipped byte in the last chunk, same size and time
        handle.seek(stat.st_size - 5)
        byte = handle.read(1)
        handle.seek(stat.st_size - 5)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(npy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert read_entry(tmp_path / "cache", key) is None, "the chunk's CRC does not match"
    assert torch.equal(load_cached(source, 16, tmp_path / "cache").images, first.images), "rebuilt"
    npy.write_bytes(npy.read_bytes()[:-100])
    assert read_entry(tmp_path / "cache", key) is None, "a cut file is caught by its size"


def test_an_interrupted_build_resumes_where_it_stopped(tmp_path, monkeypatch) -> None:
    write_images(tmp_path / "photos", 11, size=(24, 20))
    (tmp_path / "photos" / "broken.png").write_text("not an image")
    source = FolderSource(tmp_path / "photos")
    decode = FolderSource.decode_file
    calls = []

    def interrupted(path, size):
        calls.append(path.name)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return decode(path, size)

    monkeypatch.setattr(FolderSource, "decode_file", staticmethod(interrupted))
    with pytest.raises(KeyboardInterrupt):
        cache_build.build_entry(source, 16, tmp_path / "cache", "entry", chunk_images=3)
    assert len(list((tmp_path / "cache" / "entry.parts").glob("chunk-*.json"))) == 2, "two whole chunks recorded"
    calls.clear()
    monkeypatch.setattr(
        FolderSource, "decode_file", staticmethod(lambda path, size: calls.append(path) or decode(path, size))
    )
    meta = cache_build.build_entry(source, 16, tmp_path / "cache", "entry", chunk_images=3)
    assert len(calls) == 12 - 6, "only the files after the recorded chunks are decoded again"
    assert len(meta["names"]) == 11 and [name for name, _ in meta["skipped"]] == ["broken.png"]
    rebuilt = np.load(tmp_path / "cache" / "entry.npy")
    assert np.array_equal(rebuilt, decode_all(source, 16).images.numpy()), "the same images as one uninterrupted decode"
    assert not (tmp_path / "cache" / "entry.parts").exists() and not (tmp_path / "cache" / "entry.npy.partial").exists()


SCALE_SCRIPT = """
import json, sys, time
from pathlib import Path
from tests.helpers.memory import peak_rss_mb
from colorizer.data.cache import load_cached
from tests.helpers.tiled_source import TiledSyntheticSource
count, cache = int(sys.argv[1]), Path(sys.argv[2])
start = time.perf_counter()
loaded = load_cached(TiledSyntheticSource(count), 16, cache, ram_budget_gb=0.0)
print(json.dumps({"images": len(loaded.names), "mapped": loaded.memory_mapped, "peak_rss_mb": peak_rss_mb(),
                  "seconds": time.perf_counter() - start}))
"""


def load_in_a_fresh_process(count: int, cache) -> dict:
    return json.loads(run_script(SCALE_SCRIPT, count, cache).strip().splitlines()[-1])


@pytest.mark.slow
def test_a_cache_of_300000_generated_photos_builds_in_flat_memory_and_the_next_run_reads_it(tmp_path) -> None:
    """Ten times the photos, the same peak memory to build (chunked writes), and a second run that
    maps the finished cache instead of building it again."""
    small = load_in_a_fresh_process(30_000, tmp_path / "small")
    large = load_in_a_fresh_process(300_000, tmp_path / "large")
    assert small["images"] == 30_000 and large["images"] == 300_000 and large["mapped"]
    assert large["peak_rss_mb"] - small["peak_rss_mb"] < 60, (small["peak_rss_mb"], large["peak_rss_mb"])
    entry = next((tmp_path / "large").glob("*.npy"))
    built_at = entry.stat().st_mtime_ns
    again = load_in_a_fresh_process(300_000, tmp_path / "large")
    assert entry.stat().st_mtime_ns == built_at, "the second run rebuilt the cache"
    assert again["images"] == 300_000 and again["peak_rss_mb"] - small["peak_rss_mb"] < 60
