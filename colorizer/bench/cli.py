"""`python -m colorizer.bench [--quick]`: how fast the data pipeline, training and prediction are,
and how long training takes to reach a model worth looking at.

Every comparison runs in this process, side by side and interleaved, and each figure is a
median of repeated measurements. Prints a table and writes the figures as JSON.
"""

import argparse
import contextlib
import copy
import gc
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from kornia.color import rgb_to_lab
from lightning.pytorch import Callback
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from colorizer.bench.time_to_quality import bench_time_to_quality, format_time_to_quality
from colorizer.data import ImageFolderDataModule, SyntheticLandscapeDataModule, lab_batch
from colorizer.data.images import IMAGE_EXTENSIONS
from colorizer.data.synthetic import synthetic_landscapes
from colorizer.losses import (
    CharbonnierLoss,
    CompositeLoss,
    CosineLoss,
    KLDivergenceLoss,
    LossInputs,
    MSELoss,
    PerceptualLoss,
    SSIMLoss,
)
from colorizer.models import ColorizationModule, ConvVAE, GrayBaseline, SkipConnectionAutoencoder, UNet

REPO = Path(__file__).resolve().parents[2]
SHARED_PHOTOS = REPO.parent / "shared" / "data" / "landscapes150" / "color"
SHARED_MIXED_PHOTOS = REPO.parent / "shared" / "data" / "bsds500_train"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- loader -----------------------------------------------------------------------------------


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
        return lab[:1] / 100, lab[1:] / 110


def synthetic_folder(count: int, workdir: Path) -> Path:
    """`count` synthetic 150x150 JPEGs written to `workdir/photos`."""
    folder = workdir / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(synthetic_landscapes(count, 150, seed=7)):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{index}.jpg", quality=90)
    return folder


def photo_folder(count: int, workdir: Path) -> Path:
    """The shared landscape photos when present, else `count` synthetic JPEGs."""
    return SHARED_PHOTOS if SHARED_PHOTOS.is_dir() else synthetic_folder(count, workdir)


def bench_loader(folder: Path, size: int, batch_size: int, naive_images: int, runs: int, cache: Path) -> dict:
    datamodule = ImageFolderDataModule(root=str(folder), image_size=size, batch_size=batch_size, cache_dir=str(cache))
    datamodule.setup()
    loader = datamodule.train_dataloader()
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)[:naive_images]
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


# ---- training ---------------------------------------------------------------------------------

MODELS: dict[str, Callable[[int, bool], tuple[torch.nn.Module, CompositeLoss]]] = {
    "vae/composite": lambda size, perceptual: (
        ConvVAE(image_size=size),
        CompositeLoss(
            charbonnier=CharbonnierLoss(),
            cosine=CosineLoss(weight=0.1),
            kl=KLDivergenceLoss(weight=1e-3),
            **({"perceptual": PerceptualLoss(weight=0.05, pretrained=False)} if perceptual else {}),
        ),
    ),
    "cae/mse": lambda size, perceptual: (SkipConnectionAutoencoder(), CompositeLoss(mse=MSELoss())),
    "unet/ssim": lambda size, perceptual: (UNet(), CompositeLoss(ssim=SSIMLoss())),
}


class PlainLoop:
    """A hand-written training loop with the same data, Lab hook, net, loss and optimizer as
    `ColorizationModule` under Lightning, advanced one step at a time."""

    def __init__(self, net: torch.nn.Module, loss: CompositeLoss, datamodule, device: torch.device) -> None:
        self.net = net.to(device).to(memory_format=torch.channels_last).train()
        self.loss, self.device = loss, device
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.batches = iter(datamodule.train_dataloader())
        self.steps = 0

    def step(self) -> float:
        """One step, from fetching the batch to the optimizer update; returns its seconds."""
        start = time.perf_counter()
        batch = lab_batch(next(self.batches).to(self.device, non_blocking=True), flip=True)
        output = self.net.colorize(batch["L"].contiguous(memory_format=torch.channels_last))
        result = self.loss(LossInputs(batch["L"], output.ab, batch["ab"], output.kl), step=self.steps)
        self.optimizer.zero_grad(set_to_none=True)
        result.total.backward()
        self.optimizer.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.steps += 1
        return time.perf_counter() - start


class InterleavedPlainSteps(Callback):
    """After each Lightning step, one step of each plain loop. Lightning's step time is measured
    from the end of the last plain step to the end of its next step (its loop, data fetch and
    hooks included), so each pair of steps ran seconds apart: the machine's speed, which drifts
    by 10 % over seconds on a shared host, is the same for both sides."""

    def __init__(self, loops: dict[str, PlainLoop]) -> None:
        self.loops = loops
        self.lightning: list[float] = []
        self.plain: dict[str, list[float]] = {name: [] for name in loops}
        self.resumed: float | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        warm_up = self.resumed is None
        if not warm_up:
            self.lightning.append(now - self.resumed)
        for name, loop in self.loops.items():
            seconds = loop.step()
            if not warm_up:
                self.plain[name].append(seconds)
        self.resumed = time.perf_counter()


def interleaved_steps(net, loss, plain_losses: dict[str, CompositeLoss], datamodule, steps: int, device) -> dict:
    """Step times of a Lightning `fit` of `steps` steps and of plain loops, interleaved step by step."""
    loops = {name: PlainLoop(copy.deepcopy(net), other, datamodule, device) for name, other in plain_losses.items()}
    timer = InterleavedPlainSteps(loops)
    trainer = L.Trainer(
        accelerator=device.type,
        devices=1,
        max_steps=steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    module = ColorizationModule(copy.deepcopy(net), loss, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3))
    with garbage_collector_paused():
        trainer.fit(module, datamodule=datamodule)
    return {"lightning": timer.lightning, **timer.plain}


@contextlib.contextmanager
def garbage_collector_paused() -> Iterator[None]:
    """As timeit does: collect first, then no cyclic GC while timing, so pauses caused by the
    objects earlier measurements left behind do not land on whichever side happens to run."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def bench_training(setups: list[tuple[int, int, int]], steps: int, device: torch.device) -> dict:
    """Lightning vs plain loop per model for each (image size, batch size, runs): `runs` fits of
    `steps` steps, each Lightning step followed by a plain step (see `InterleavedPlainSteps`).
    Images/s are batch size over the median step time; the ratio is the median of the step
    pairs' ratios."""
    results = {}
    for size, batch_size, runs in setups:
        # Enough training images for all steps of every loop in one epoch (64% of them train).
        datamodule = SyntheticLandscapeDataModule(
            num_images=int(batch_size * (steps + 1) / 0.64) + 8, image_size=size, batch_size=batch_size, cache_dir=None
        )
        datamodule.setup()
        for name, build in MODELS.items():
            torch.manual_seed(0)
            net, loss = build(size, True)
            plain_losses = {"plain": loss}
            if "perceptual" in loss.terms:
                plain_losses["without_perceptual"] = build(size, False)[1]
            times: dict[str, list[float]] = {}
            for _ in range(runs):
                for side, seconds in interleaved_steps(net, loss, plain_losses, datamodule, steps, device).items():
                    times.setdefault(side, []).extend(seconds)
            ratios = [p / lit for p, lit in zip(times["plain"], times["lightning"], strict=True)]
            entry = {
                "lightning_img_s": batch_size / statistics.median(times["lightning"]),
                "plain_img_s": batch_size / statistics.median(times["plain"]),
                "ratio": statistics.median(ratios),
                "ratio_quartiles": statistics.quantiles(ratios, n=4)[::2] if len(ratios) > 1 else ratios * 2,
                "step_pairs": len(ratios),
                "batch_size": batch_size,
            }
            if "without_perceptual" in times:
                entry["perceptual_share"] = 1 - statistics.median(times["without_perceptual"]) / statistics.median(
                    times["plain"]
                )
            results[f"{name}@{size}"] = entry
    return results


# ---- prediction -------------------------------------------------------------------------------


def prediction_photos(count: int, folder: Path) -> list[Path]:
    """`count` 768x512 JPEGs in `folder`: the shared BSDS500 photos (portraits turned) resized up,
    else synthetic landscapes with sensor-like noise, so that decoding costs what a photo's does."""
    folder.mkdir(parents=True, exist_ok=True)
    shared = sorted(SHARED_MIXED_PHOTOS.glob("*.jpg")) if SHARED_MIXED_PHOTOS.is_dir() else []
    noise = np.random.default_rng(3)
    for index in range(count):
        if shared:
            with Image.open(shared[index % len(shared)]) as opened:
                image = opened.convert("RGB")
            if image.height > image.width:
                image = image.transpose(Image.Transpose.ROTATE_90)
        else:
            image = Image.fromarray(synthetic_landscapes(1, 256, seed=index)[0].permute(1, 2, 0).numpy())
        pixels = np.asarray(image.resize((768, 512), Image.Resampling.BICUBIC)).astype(np.int16)
        if not shared:
            pixels += noise.integers(-6, 7, pixels.shape, dtype=np.int16)
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / f"{index}.jpg", quality=92)
    return sorted(folder.glob("*.jpg"))


PREDICT_NETS: dict[str, Callable[[], torch.nn.Module]] = {
    "unet": UNet,
    "cae": SkipConnectionAutoencoder,
    "vae": lambda: ConvVAE(image_size=64),
    "gray (no network)": GrayBaseline,
}


def bench_prediction(count: int, runs: int, workdir: Path, device: torch.device) -> dict:
    """colorizer.predict's images/s on 768x512 photos for each net vs decoding and encoding the
    same files alone, both with one thread per core (what predict's pool uses)."""
    from colorizer.inference import TrainedColorizer
    from colorizer.precision import use_bf16
    from colorizer.predict import Job, PredictSummary, colorize_files
    from colorizer.srgb_table import srgb_table

    files = prediction_photos(count, workdir / "predict_in")
    start = time.perf_counter()
    srgb_table()  # built once per machine (or read from the user cache); not part of the steady state
    table_s = time.perf_counter() - start
    bf16 = use_bf16("auto", device)
    workers = os.cpu_count() or 1

    def decode_encode(path: Path) -> None:
        with Image.open(path) as image:
            image.convert("RGB").save(io.BytesIO(), format="JPEG", quality=95)

    def floor() -> float:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(decode_encode, files))
        return len(files) / (time.perf_counter() - start)

    def ours(net: torch.nn.Module, output: Path) -> float:
        model = TrainedColorizer(net, {}, 64, torch.zeros(2), Path("random-init"))
        jobs = [Job(path, output / path.name, Path(path.name)) for path in files]
        start = time.perf_counter()
        colorize_files(model, jobs, device, PredictSummary(), batch_size=16, bf16=bf16)
        return len(files) / (time.perf_counter() - start)

    nets = {name: build().eval().to(device) for name, build in PREDICT_NETS.items()}
    floors: list[float] = []
    predicted: dict[str, list[float]] = {name: [] for name in nets}
    for run in range(runs):  # interleaved, so drifts in machine load hit all alike
        floors.append(floor())
        for index, (name, net) in enumerate(nets.items()):
            predicted[name].append(ours(net, workdir / f"predict_out_{run}_{index}"))
    floor_img_s = statistics.median(floors)
    result: dict[str, Any] = {
        "photos": "BSDS500 resized" if SHARED_MIXED_PHOTOS.is_dir() else "synthetic with noise",
        "decode_encode_floor_img_s": floor_img_s,
        "network_precision": "bf16 autocast" if bf16 else "fp32",
        "colour_table_s": table_s,
        "models": {},
    }
    for name, rates in predicted.items():
        rate = statistics.median(rates)
        result["models"][name] = {"predict_img_s": rate, "ratio": rate / floor_img_s}
    return result


# ---- cache and scale --------------------------------------------------------------------------


def bench_cache_start(folder: Path, cache: Path, workdir: Path, runs: int = 3) -> dict:
    """Seconds from launching `python -m colorizer.train` on `folder` with a warm decode cache to
    the start of its first training step (the real command: Hydra, logger, callbacks, sanity
    check), the median of `runs`, and how much of it is importing colorizer.train (torch,
    Lightning, torchmetrics, kornia, Hydra) in a fresh interpreter."""
    report = workdir / "first_step.json"
    # Decode now (a no-op after the loader section), so that every launch is a cache hit.
    ImageFolderDataModule(root=str(folder), image_size=64, cache_dir=str(cache)).prepare_data()

    def launch(run: int) -> dict:
        command = [
            sys.executable, "-m", "colorizer.train", "data=folder", f"data.root={folder}", f"data.cache_dir={cache}",
            f"hydra.run.dir={workdir / f'start_run_{run}'}", "+trainer.max_steps=1", "+trainer.limit_val_batches=2",
            "+trainer.limit_test_batches=1", "trainer.enable_progress_bar=false",
            "+callbacks.first_step._target_=colorizer.callbacks.FirstStepTimer",
            f"+callbacks.first_step.launched_at={time.time()}", f"+callbacks.first_step.report={report}",
        ]  # fmt: skip
        subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
        return json.loads(report.read_text())

    def import_seconds() -> float:
        script = "import time; t = time.perf_counter(); import colorizer.train; print(time.perf_counter() - t)"
        output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
        return float(output.stdout.split()[-1])

    starts = [launch(run)["first_step_start_s"] for run in range(runs)]
    imports = [import_seconds() for _ in range(runs)]
    return {"first_step_start_s": statistics.median(starts), "import_s": statistics.median(imports)}


def bench_scale(counts: list[int], ram_budget_gb: float, workdir: Path) -> dict:
    """RSS and one loader epoch (with Lab) over a cache of `count` 64x64 images, in a fresh process."""
    results = {}
    for count in counts:
        script = (
            "import json, resource, time\n"
            "from colorizer.bench.cli import scale_epoch\n"
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


# ---- entry point ------------------------------------------------------------------------------

MODES = {
    # loader sizes and runs, naive images; training (size, batch, runs) and steps per run;
    # predict images and runs; scale counts; sections run unless --sections names others.
    # Quick keeps the pixels per batch about constant.
    "smoke": dict(loader_sizes=[32], loader_runs=1, naive=32, train=[(32, 4, 1)], steps=4,
                  predict=2, predict_runs=1, scale=[2000], files=64,
                  sections=["loader", "training", "prediction", "scale", "time_to_quality"]),
    "quick": dict(loader_sizes=[64, 150], loader_runs=3, naive=300, train=[(64, 16, 2), (150, 4, 1), (224, 2, 1)],
                  steps=12, predict=48, predict_runs=3, scale=[7129, 100_000], files=600,
                  sections=["loader", "training", "prediction", "cache_start", "scale"]),
    "full": dict(loader_sizes=[64, 150], loader_runs=5, naive=1000, train=[(64, 32, 3), (150, 32, 3), (224, 32, 3)],
                 steps=16, predict=96, predict_runs=3, scale=[7129, 100_000], files=2000,
                 sections=["loader", "training", "prediction", "cache_start", "scale", "time_to_quality"]),
}  # fmt: skip
SECTIONS = ["loader", "training", "prediction", "cache_start", "scale", "time_to_quality"]
# The smoke form of time to quality: a few steps on synthetic images, targets any model reaches.
SMOKE_QUALITY_DATA = [
    "data=synthetic", "data.num_images=48", "data.image_size=32", "data.batch_size=8", "trainer.max_epochs=1",
    "trainer.val_check_interval=1.0", "trainer.log_every_n_steps=1",
]  # fmt: skip
QUALITY_TARGETS = {"smoke": [-40.0, -30.0], "quick": [1.0, 1.4], "full": [1.0, 1.4]}


def header(device: torch.device) -> dict[str, Any]:
    import kornia
    import lightning

    info = {
        "device": torch.cuda.get_device_name(0)
        if device.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()})",
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "kornia": kornia.__version__,
    }
    with contextlib.suppress(OSError, StopIteration):
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line)
    return info


def format_loader(loader: dict[str, Any]) -> list[str]:
    lines = ["Loader: images/s delivered, ours vs naive per-file PIL + per-sample Lab (same workers)"]
    for size, r in loader.items():
        lines.append(
            f"  {size:>4}px  uint8 batches {r['ours_uint8_img_s']:>10,.0f}  with Lab on this device "
            f"{r['ours_with_lab_img_s']:>8,.0f}  naive {r['naive_img_s']:>7,.0f}  "
            f"ratio {r['ratio_uint8']:.1f}x (uint8) / {r['ratio_with_lab']:.1f}x (with Lab)"
        )
    return lines


def format_training(training: dict[str, Any]) -> list[str]:
    lines = ["Training: images/s, Lightning fit vs plain PyTorch loop (same net, loss, optimizer, batches)"]
    for name, r in training.items():
        share = f"  VGG perceptual {r['perceptual_share']:.0%} of the step" if "perceptual_share" in r else ""
        lines.append(
            f"  {name:<17} batch {r['batch_size']:>3}  Lightning {r['lightning_img_s']:>8.1f}  "
            f"plain {r['plain_img_s']:>8.1f}  "
            f"ratio {r['ratio']:.3f} (quartiles {r['ratio_quartiles'][0]:.3f}-{r['ratio_quartiles'][1]:.3f} "
            f"of {r['step_pairs']} step pairs){share}"
        )
    return lines


def format_prediction(p: dict[str, Any]) -> list[str]:
    lines = [
        f"Prediction, 768x512 JPEG ({p['photos']}, network in {p['network_precision']}): images/s vs the "
        f"decode+encode floor {p['decode_encode_floor_img_s']:.1f} img/s "
        f"(colour table ready in {p['colour_table_s']:.2f} s)"
    ]
    for name, r in p["models"].items():
        lines.append(f"  {name:<20} {r['predict_img_s']:>8.1f}  ratio {r['ratio']:.2f}")
    return lines


def format_cache_start(start: dict[str, Any]) -> list[str]:
    return [
        f"Cache hit: `python -m colorizer.train` starts its first step {start['first_step_start_s']:.2f} s after "
        f"launch; importing colorizer.train alone takes {start['import_s']:.2f} s"
    ]


def format_scale(scale: dict[str, Any]) -> list[str]:
    return [
        f"Scale {int(count):>7,} images: {'memory-mapped' if r['memory_mapped'] else 'in RAM'}, load "
        f"{r['load_s']:.2f} s, one epoch with Lab {r['epoch_s']:.1f} s, peak RSS {r['peak_rss_mb']:,.0f} MB"
        for count, r in scale.items()
    ]


FORMATTERS: dict[str, Callable[[Any], list[str]]] = {
    "loader": format_loader,
    "training": format_training,
    "prediction": format_prediction,
    "cache_start": format_cache_start,
    "scale": format_scale,
    "time_to_quality": format_time_to_quality,
}


def format_report(figures: dict[str, Any]) -> str:
    lines = [f"colorizer bench ({figures['mode']}): " + ", ".join(f"{k} {v}" for k, v in figures["header"].items())]
    lines.append("")
    for name, formatter in FORMATTERS.items():
        if name in figures:
            lines.extend(formatter(figures[name]))
    for name, reason in figures.get("not_run", {}).items():
        lines.append(f"{name}: not run ({reason})")
    lines.append("Seconds per section: " + ", ".join(f"{k} {v:.0f}" for k, v in figures["seconds"].items()))
    lines.append(f"Peak RSS of this process: {figures['peak_rss_mb']:,.0f} MB" + (
        f", GPU {figures['peak_gpu_mb']:,.0f} MB" if "peak_gpu_mb" in figures else ""))  # fmt: skip
    return "\n".join(lines)


def run_bench(mode: str, workdir: Path, sections: list[str] | None = None, landscapes: Path = SHARED_PHOTOS) -> dict:
    """The figures of `sections` (default: the mode's own) measured in `mode` ("smoke", "quick" or
    "full"); `landscapes` is the folder of landscape photos that time to quality trains on."""
    settings = MODES[mode]
    chosen = sections or settings["sections"]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    figures: dict[str, Any] = {"mode": mode, "header": header(device), "seconds": {}, "not_run": {}}
    cache = workdir / "cache"
    # The smoke run never reads the shared 7k photos: it must take seconds.
    folder = (
        synthetic_folder(settings["files"], workdir) if mode == "smoke" else photo_folder(settings["files"], workdir)
    )
    if mode == "smoke":
        quality_data = [*SMOKE_QUALITY_DATA, f"data.cache_dir={cache}"]
    else:
        quality_data = ["data=landscape", f"data.root={landscapes.parent}", f"data.cache_dir={cache}"]

    measures: dict[str, Callable[[], Any]] = {
        "loader": lambda: {
            str(size): bench_loader(folder, size, 32, settings["naive"], settings["loader_runs"], cache)
            for size in settings["loader_sizes"]
        },
        "training": lambda: bench_training(settings["train"], settings["steps"], device),
        "prediction": lambda: bench_prediction(settings["predict"], settings["predict_runs"], workdir, device),
        "cache_start": lambda: bench_cache_start(folder, cache, workdir),
        "scale": lambda: bench_scale(settings["scale"], 0.5, workdir),
        "time_to_quality": lambda: bench_time_to_quality(quality_data, QUALITY_TARGETS[mode], workdir),
    }
    for name in chosen:
        if name == "time_to_quality" and mode != "smoke" and not landscapes.is_dir():
            figures["not_run"][name] = f"{landscapes} is absent; pass --landscapes <folder of landscape photos>"
            continue
        start = time.perf_counter()
        figures[name] = measures[name]()
        figures["seconds"][name] = time.perf_counter() - start
    figures["peak_rss_mb"] = peak_rss_mb()
    if device.type == "cuda":
        figures["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Measure colorizer's data pipeline, training and prediction speed, and its time to quality."
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--quick",
        action="store_true",
        help="every speed figure, with fewer repeats and smaller batches: ~7 minutes on 2 CPU cores",
    )
    group.add_argument("--smoke", action="store_true", help="the smallest run that produces every figure")
    parser.add_argument(
        "--sections",
        type=lambda text: text.split(","),
        default=None,
        help=f"comma-separated sections to run (default: the mode's own): {','.join(SECTIONS)}. "
        "time_to_quality trains two models on the landscape photos: about 25 minutes on 2 CPU cores",
    )
    parser.add_argument(
        "--landscapes",
        type=Path,
        default=SHARED_PHOTOS,
        help="the folder of landscape photos (Kaggle color/) for time_to_quality",
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures (default outputs/bench/)")
    args = parser.parse_args()
    unknown = sorted(set(args.sections or []) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory(prefix="colorizer-bench-") as workdir:
        figures = run_bench(mode, Path(workdir), args.sections, args.landscapes.expanduser())
    path = args.json or REPO / "outputs" / "bench" / f"bench-{mode}-{time.strftime('%Y-%m-%d_%H-%M-%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2))
    print(format_report(figures))
    print(f"Figures written to {path}")
