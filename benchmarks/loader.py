"""Loader section: uint8 batches from the decode cache against the per-file pipeline of the source reports."""

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from kornia.color import rgb_to_lab
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import build_datamodule
from colorizer.color import AB_SCALE, L_SCALE
from colorizer.data.images import list_image_files
from colorizer.data.transforms import lab_batch


class NaiveFileDataset(Dataset):
    """What the source reports did: open, resize, to-tensor and Lab per sample, every epoch."""

    def __init__(self, files: list[Path], size: int) -> None:
        self.files, self.size = files, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = Image.open(self.files[index]).convert("RGB").resize((self.size, self.size), Image.Resampling.BICUBIC)
        rgb = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255
        lab = rgb_to_lab(rgb)
        return lab[:1] / L_SCALE, lab[1:] / AB_SCALE


def bench_loader(folder: Path, size: int, batch_size: int, naive_images: int, runs: int, cache: Path) -> dict:
    datamodule = build_datamodule(
        [
            "data=folder",
            f"data.source.root={folder}",
            f"data.image_size={size}",
            f"data.batch_size={batch_size}",
            f"data.cache_dir={cache}",
        ]
    )
    datamodule.setup()
    loader = datamodule.train_dataloader()
    files = list_image_files(folder)[:naive_images]
    naive_loader = DataLoader(NaiveFileDataset(files, size), batch_size=batch_size, shuffle=True, num_workers=0)

    def ours(with_lab: bool) -> float:
        start, count = time.perf_counter(), 0
        for batch in loader:
            if with_lab:
                lab_batch(batch, flip=True)
            count += len(batch)
        return count / (time.perf_counter() - start)

    def naive() -> float:
        start, count = time.perf_counter(), 0
        for L_batch, _ in naive_loader:
            count += len(L_batch)
        return count / (time.perf_counter() - start)

    uint8, with_lab, baseline = [], [], []
    for _ in range(runs):  # interleaved, so drifts in machine load hit all three alike
        uint8.append(ours(False))
        with_lab.append(ours(True))
        baseline.append(naive())
    result = {
        "images": len(datamodule.indices["train"]),
        "ours_uint8_img_s": statistics.median(uint8),
        "ours_with_lab_img_s": statistics.median(with_lab),
        "naive_img_s": statistics.median(baseline),
    }
    result["ratio_uint8"] = result["ours_uint8_img_s"] / result["naive_img_s"]
    result["ratio_with_lab"] = result["ours_with_lab_img_s"] / result["naive_img_s"]
    return result


def format_loader(loader: dict[str, Any]) -> list[str]:
    lines = ["Loader: images/s delivered, ours vs naive per-file PIL + per-sample Lab (same workers)"]
    for size, r in loader.items():
        lines.append(
            f"  {size:>4}px  uint8 batches {r['ours_uint8_img_s']:>10,.0f}  with Lab on this device "
            f"{r['ours_with_lab_img_s']:>8,.0f}  naive {r['naive_img_s']:>7,.0f}  "
            f"ratio {r['ratio_uint8']:.1f}x (uint8) / {r['ratio_with_lab']:.1f}x (with Lab)"
        )
    return lines
