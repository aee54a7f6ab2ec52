"""`python -m colorizer.prepare`: decode a data set once and write it as LitData chunks for `data=streaming`.

The images go through the local cache first (decoded in bounded memory, resumably, with what
was left out and why), and are split there exactly as `data=folder` splits them; LitData's
`optimize` then writes each split's rows as chunks to `output_dir` (a folder or an object-store
URL, which LitData uploads to), and `colorizer.json` records the size, the splits and the counts.
"""

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.utils import instantiate
from litdata import optimize
from omegaconf import DictConfig, OmegaConf

from colorizer.atomic import atomic_write
from colorizer.cli import one_line_errors
from colorizer.config import register_resolvers
from colorizer.data.datamodule import CachedDataModule
from colorizer.data.streaming import PREPARED_INFO, SPLITS, is_remote

log = logging.getLogger(__name__)

ROWS_PER_TASK = 256


class CachedRows:
    """`optimize`'s function: task i yields the stored items of rows [i*256, (i+1)*256) of one
    split, read from the memory-mapped cache file (a class, so that writer processes can pickle it)."""

    def __init__(self, array_path: str, rows: list[int], names: list[str]) -> None:
        self.array_path = array_path
        self.rows = rows
        self.names = names
        self.images: np.ndarray | None = None

    def __call__(self, task: int) -> Iterator[dict[str, Any]]:
        if self.images is None:
            self.images = np.load(self.array_path, mmap_mode="r", allow_pickle=False)
        for position in range(task * ROWS_PER_TASK, min(len(self.rows), (task + 1) * ROWS_PER_TASK)):
            yield {"image": np.ascontiguousarray(self.images[self.rows[position]]), "name": self.names[position]}


def write_info(output_dir: str, info: dict[str, Any]) -> None:
    """`<output_dir>/colorizer.json`, atomically in a folder, through LitData's storage client in a bucket."""
    text = json.dumps(info, indent=1).encode()
    if not is_remote(output_dir):
        atomic_write(Path(output_dir) / PREPARED_INFO, lambda handle: handle.write(text))
        return
    from litdata.streaming.fs_provider import _get_fs_provider

    with tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / PREPARED_INFO
        local.write_bytes(text)
        _get_fs_provider(output_dir).upload_file(str(local), f"{output_dir}/{PREPARED_INFO}")


def write_splits(
    array_path: str,
    indices: dict[str, Any],
    names: list[str],
    output_dir: str,
    chunk_bytes: str = "64MB",
    compression: str | None = None,
    num_workers: int | None = None,
) -> None:
    """Write the rows `indices[split]` of the cache file `array_path` (uint8 [N,3,S,S]), named by
    `names` [N], as a LitData dataset `<output_dir>/<split>` per split."""
    for split in SPLITS:
        rows = [int(row) for row in indices[split]]
        log.info("Writing the %s split (%d images) to %s/%s", split, len(rows), output_dir, split)
        optimize(
            fn=CachedRows(array_path, rows, [names[row] for row in rows]),
            inputs=list(range(-(-len(rows) // ROWS_PER_TASK))),
            output_dir=f"{output_dir}/{split}",
            chunk_bytes=chunk_bytes,
            compression=compression,
            num_workers=num_workers or os.cpu_count() or 1,
            mode="overwrite",
            verbose=False,
            start_method="fork",  # the writers only slice a memory map; spawn would re-import torch in each
        )


def prepare(cfg: DictConfig) -> dict[str, Any]:
    """Cache, split and write `cfg.data` as LitData chunks under `cfg.output_dir`; returns the recorded info."""
    if "ram_budget_gb" not in cfg.data:  # only the data modules that decode into the local cache have one
        raise ValueError(f"prepare reads images (data=folder, landscape or synthetic), not {cfg.data._target_}.")
    # A RAM budget of 0 maps the cache file: the writers read the rows from it, nothing needs them in RAM here.
    datamodule: CachedDataModule = instantiate(cfg.data, ram_budget_gb=0.0)
    if datamodule.num_folds > 1:
        raise ValueError("prepare writes one fixed split: set data.num_folds=1 (K-fold needs the local cache).")
    if datamodule.cache_dir is None:
        raise ValueError("prepare decodes through the local cache: set data.cache_dir (paths.cache_dir).")
    datamodule.prepare_data()
    datamodule.setup()
    output_dir = str(cfg.output_dir).rstrip("/")
    if not is_remote(output_dir):
        output_dir = str(Path(output_dir).expanduser().resolve())
    array_path = str(Path(datamodule.cache_dir).expanduser() / f"{datamodule.prepared_key}.npy")
    write_splits(
        array_path,
        datamodule.indices,
        datamodule.loaded.names,
        output_dir,
        cfg.chunk_bytes,
        cfg.compression,
        cfg.num_workers,
    )
    info = {
        "image_size": datamodule.image_size,
        "source": datamodule.source.describe(),
        "splits": dict(datamodule.splits),
        "split_seed": datamodule.split_seed,
        "counts": {split: len(datamodule.indices[split]) for split in SPLITS},
        "skipped": [list(item) for item in datamodule.loaded.skipped],
        "colorless": list(datamodule.loaded.colorless),
        "data": OmegaConf.to_container(cfg.data, resolve=True),
    }
    write_info(output_dir, info)
    return info


register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="prepare")
def main(cfg: DictConfig) -> None:
    with one_line_errors("colorizer.prepare"):
        info = prepare(cfg)
    counts = ", ".join(f"{count} {split}" for split, count in info["counts"].items())
    print(f"Prepared {counts} images at {info['image_size']}x{info['image_size']} in {cfg.output_dir}")
    print(f"Train from it: python -m colorizer.train data=streaming data.root={cfg.output_dir}")


if __name__ == "__main__":
    main()
