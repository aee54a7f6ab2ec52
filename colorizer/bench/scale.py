"""Scale section: memory and one loader epoch over caches of many images."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from colorizer.bench.common import REPO, peak_rss_mb
from colorizer.data import SyntheticLandscapeDataModule, lab_batch
from colorizer.data.synthetic import synthetic_landscapes


def bench_scale(counts: list[int], ram_budget_gb: float, workdir: Path) -> dict:
    """RSS and one loader epoch (with Lab) over a cache of `count` 64x64 images, in a fresh process."""
    results = {}
    for count in counts:
        script = (
            "import json, resource, time\n"
            "from colorizer.bench.scale import scale_epoch\n"
            f"print(json.dumps(scale_epoch({count}, {ram_budget_gb}, {str(workdir)!r})))\n"
        )
        output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
        results[str(count)] = json.loads(output.stdout.strip().splitlines()[-1])
    return results


def scale_epoch(count: int, ram_budget_gb: float, workdir: str) -> dict:
    """Cache `count` images (tiled synthetic landscapes), load them under the RAM budget, run one epoch."""
    from colorizer.data.cache import read_entry, write_entry

    cache = Path(workdir) / "scale_cache"
    tile = synthetic_landscapes(min(count, 512), 64, seed=11)
    images = tile.repeat((count + len(tile) - 1) // len(tile), 1, 1, 1)[:count]
    key = f"bench-scale-{count}"
    write_entry(cache, key, images.numpy(), [str(i) for i in range(count)], [], [])
    del images, tile
    start = time.perf_counter()
    loaded = read_entry(cache, key, ram_budget_gb)
    load_s = time.perf_counter() - start
    datamodule = SyntheticLandscapeDataModule(num_images=count, image_size=64, batch_size=256, cache_dir=None)
    datamodule.loaded = loaded
    datamodule.indices = {"train": torch.arange(count)}
    start, seen = time.perf_counter(), 0
    for batch in datamodule.train_dataloader():
        lab_batch(batch, flip=True)
        seen += len(batch)
    return {
        "images": seen,
        "memory_mapped": loaded.memory_mapped,
        "load_s": load_s,
        "epoch_s": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
    }


def format_scale(scale: dict[str, Any]) -> list[str]:
    return [
        f"Scale {int(count):>7,} images: {'memory-mapped' if r['memory_mapped'] else 'in RAM'}, load "
        f"{r['load_s']:.2f} s, one epoch with Lab {r['epoch_s']:.1f} s, peak RSS {r['peak_rss_mb']:,.0f} MB"
        for count, r in scale.items()
    ]
