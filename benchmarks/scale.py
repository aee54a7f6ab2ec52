"""Scale section: building and starting on caches of many images, and streaming them with LitData.

Each measurement runs in a fresh process (`python -m benchmarks.scale <task> ...`), so that
its peak RSS is its own. The images are synthetic landscapes tiled from 512 renders: the figures
are the cache's and the loader's costs, not the renderer's (decode speed is the loader section's).
"""

import copy
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import REPO, peak_rss_mb
from colorizer.data.cache import load_cached
from colorizer.data.datamodule import CachedDataModule
from colorizer.data.transforms import lab_batch
from tests.helpers.tiled_source import TiledSyntheticSource, tiled_datamodule

IMAGE_SIZE = 64


def _datamodule(count: int, workdir: str, batch_size: int = 256) -> CachedDataModule:
    return tiled_datamodule(count, workdir, IMAGE_SIZE, batch_size)


def _epoch_seconds(loader) -> float:
    start = time.perf_counter()
    for batch in loader:
        lab_batch(batch, flip=True)
    return time.perf_counter() - start


def build(count: int, workdir: str) -> dict[str, Any]:
    """Decode `count` images into the cache: wall time, images/s, peak RSS."""
    start = time.perf_counter()
    # A RAM budget of 0 maps the finished entry instead of reading it: the figure is the build's alone.
    load_cached(TiledSyntheticSource(count), IMAGE_SIZE, Path(workdir) / "cache", ram_budget_gb=0.0)
    seconds = time.perf_counter() - start
    return {"build_s": seconds, "images_per_s": count / seconds, "build_peak_rss_mb": peak_rss_mb()}


def start_and_epoch(count: int, workdir: str, epoch: bool) -> dict[str, Any]:
    """A run's start on the built cache (a cache hit), then optionally one loader epoch with Lab."""
    start = time.perf_counter()
    datamodule = _datamodule(count, workdir)
    datamodule.prepare_data()
    datamodule.setup()
    figures = {"start_s": time.perf_counter() - start, "memory_mapped": datamodule.loaded.memory_mapped}
    if epoch:
        figures["epoch_s"] = _epoch_seconds(datamodule.loader("all"))
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def streaming(count: int, workdir: str, steps: int) -> dict[str, Any]:
    """`prepare` of the built cache, one streamed epoch with Lab, and U-Net training steps from
    the local cache and from the stream, interleaved one for one."""
    from benchmarks.training import MODELS, PlainLoop, build_setup
    from colorizer.data.streaming import StreamingDataModule
    from colorizer.prepare import write_info, write_splits

    local = _datamodule(count, workdir, batch_size=16)
    local.prepare_data()
    local.setup()
    output_dir = str(Path(workdir) / "streaming")
    start = time.perf_counter()
    splits = {split: local.indices[split] for split in ("train", "val", "test")}
    write_splits(str(Path(workdir) / "cache" / f"{local.prepared_key}.npy"), splits, local.loaded.names, output_dir)
    write_info(
        output_dir,
        {"image_size": IMAGE_SIZE, "counts": {s: len(i) for s, i in splits.items()}, "skipped": [], "colorless": []},
    )
    figures: dict[str, Any] = {"prepare_s": time.perf_counter() - start}
    streamed = StreamingDataModule(output_dir, image_size=IMAGE_SIZE, batch_size=256)
    streamed.setup()
    figures["epoch_s"] = _epoch_seconds(streamed.loader("train", shuffle=True))
    figures["epoch_images"] = streamed.split_size("train")

    torch.manual_seed(0)
    net, loss, optimizer = build_setup(MODELS["unet/ssim"], IMAGE_SIZE)
    streamed.batch_size = 16
    loops = {
        name: PlainLoop(copy.deepcopy(net), loss, module, torch.device("cpu"), optimizer)
        for name, module in (("local", local), ("streaming", streamed))
    }
    times: dict[str, list[float]] = {name: [] for name in loops}
    for step in range(steps + 2):
        for name, loop in loops.items():
            seconds = loop.step()
            if step >= 2:  # the first steps warm up allocators and open chunks
                times[name].append(seconds)
    figures["steps_per_s"] = {name: 1 / statistics.median(values) for name, values in times.items()}
    figures["streaming_vs_local"] = figures["steps_per_s"]["streaming"] / figures["steps_per_s"]["local"]
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def _run(task: str, *args: Any) -> dict[str, Any]:
    """`task` in a fresh process; its JSON result."""
    command = [sys.executable, "-m", "benchmarks.scale", task, *map(str, args)]
    output = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if output.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def bench_scale(counts: list[int], workdir: Path, streaming_count: int, steps: int) -> dict[str, Any]:
    """Per count: build, start and (up to 100 k) one epoch; then streaming on `streaming_count` images."""
    results: dict[str, Any] = {"counts": {}}
    for count in counts:
        folder = workdir / f"scale-{count}"
        results["counts"][str(count)] = {
            **_run("build", count, folder),
            **_run("start", count, folder, int(count <= 100_000)),
        }
    if streaming_count:
        folder = workdir / f"scale-{streaming_count}"
        results["streaming"] = {"images": streaming_count, **_run("streaming", streaming_count, folder, steps)}
    return results


def format_scale(scale: dict[str, Any]) -> list[str]:
    lines = []
    for count, r in scale["counts"].items():
        epoch = f", one epoch with Lab {r['epoch_s']:.1f} s" if "epoch_s" in r else ""
        lines.append(
            f"Scale {int(count):>9,} images at 64²: build {r['build_s']:.1f} s ({r['images_per_s']:,.0f} images/s, "
            f"peak RSS {r['build_peak_rss_mb']:,.0f} MB); start on it {r['start_s']:.2f} s "
            f"({'memory-mapped' if r['memory_mapped'] else 'in RAM'}){epoch}, peak RSS {r['peak_rss_mb']:,.0f} MB"
        )
    if "streaming" in scale:
        s = scale["streaming"]
        lines.append(
            f"Streaming {s['images']:,} images: prepare {s['prepare_s']:.1f} s, one epoch ({s['epoch_images']:,} "
            f"train images) with Lab {s['epoch_s']:.1f} s; unet steps/s local {s['steps_per_s']['local']:.2f}, "
            f"streaming {s['steps_per_s']['streaming']:.2f} (x{s['streaming_vs_local']:.2f})"
        )
    return lines


TASKS = {
    "build": lambda count, folder: build(int(count), folder),
    "start": lambda count, folder, epoch: start_and_epoch(int(count), folder, bool(int(epoch))),
    "streaming": lambda count, folder, steps: streaming(int(count), folder, int(steps)),
}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](*sys.argv[2:])))
