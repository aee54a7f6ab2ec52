"""The GPU check (`python -m benchmarks --sections gpu`): what a lent GPU is measured for, in
one run that fits a few minutes, with a reduced form that runs on the CPU (the suite's test).

Parts, each recorded on its own (a part that fails records its error and the others still run,
since a GPU lease is short and may come once):
- `nets`: each net and its loss at two sizes, in 32-true and bf16-mixed: images/s of a plain
  training loop, losses finite, and the psnr of the two trained nets on the same held-out batch;
- `lightning`: Lightning against the plain loop (the training section);
- `busy`: the GPU's busy share while Lightning trains from the cached data module, and the share
  of each step spent waiting for data;
- `compile`: torch.compile's first-step time and its steady speed-up on the plain loop;
- `predict`: 768x512 photos per second on the device against the CPU;
- `resume`: a run killed mid-epoch and resumed against the uninterrupted one (`bench.resume`);
- `quality`: `experiment=landscape_best` from launch to tested, on the landscapes given.
"""

import copy
import statistics
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback

from benchmarks.common import build_datamodule
from benchmarks.prediction import bench_prediction
from benchmarks.resume import bench_resume
from benchmarks.time_to_quality import bench_time_to_quality, format_time_to_quality
from benchmarks.training import PlainLoop, bare_trainer, bench_training, build_setup, garbage_collector_paused
from colorizer.color import rebuild_rgb
from colorizer.data.defaults import SPLIT_FRACTIONS
from colorizer.data.transforms import lab_batch
from colorizer.evaluation.metrics import image_scores
from colorizer.training.module import ColorizationModule

# Each net with the loss it is trained with (VGG and encoder weights random: only their cost counts).
GPU_NETS = {
    "unet/ssim": ["model=unet", "loss=ssim"],
    "cae/mse": ["model=cae", "loss=mse"],
    "vae/composite": ["model=vae", "loss=composite", "loss.perceptual.pretrained=false"],
    "ae/mse": ["model=ae", "loss=mse"],
    "encoder_unet/mse": ["model=encoder_unet", "model.encoder.weights=none", "loss=mse"],
}
# sizes, batch, steps per run, Lightning setups (size, batch, runs), predict photos, busy-share
# size and steps. Full: planned to fit about 8 minutes of one H200 with landscape_best (estimated).
GPU_MODES = {
    "smoke": dict(sizes=[32], batch=4, steps=3, lightning=[(32, 4, 1)], predict=2, busy_size=32, busy_steps=4),
    "full": dict(
        sizes=[64, 224],
        batch=32,
        steps=100,
        lightning=[(64, 64, 2), (224, 16, 2)],
        predict=96,
        busy_size=224,
        busy_steps=300,
    ),
}


def datamodule_for(size: int, batch: int, cache: Path | None = None, batches: int = 16):
    """Synthetic images for `batches` training batches (the loops go round them epoch after
    epoch) and a held-out batch at `size`: rendering takes 15 ms an image at 224², one core."""
    count = int(batch * (batches + 2) / SPLIT_FRACTIONS["train"]) + 8
    data = [f"data.source.num_images={count}", f"data.image_size={size}", f"data.batch_size={batch}"]
    datamodule = build_datamodule([*data, f"data.cache_dir={cache if cache else 'null'}"])
    datamodule.setup()
    return datamodule


def train_plain(overrides: list[str], size: int, datamodule, steps: int, device: torch.device, bf16: bool) -> dict:
    """`steps` plain-loop steps from seed 0 in one precision: images/s, losses finite, and the
    trained net's psnr on the test split's first batch."""
    torch.manual_seed(0)
    net, loss, optimizer = build_setup(overrides, size)
    loop = PlainLoop(net, loss, datamodule, device, optimizer, bf16=bf16)
    seconds = [loop.step() for _ in range(steps)]
    batch = lab_batch(next(iter(datamodule.test_dataloader())).to(device))
    loop.net.eval()
    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=bf16):
        pred = loop.net(batch["L"]).float()
    psnr = image_scores(rebuild_rgb(batch["L"], pred), rebuild_rgb(batch["L"], batch["ab"]))["psnr"].mean()
    steady = seconds[1:] or seconds
    return {
        "img_s": datamodule.batch_size / statistics.median(steady),
        "losses_finite": all(loop.finite),
        "psnr": float(psnr),
    }


def bench_nets(sizes: list[int], batch: int, steps: int, device: torch.device) -> dict:
    results = {}
    for size in sizes:
        datamodule = datamodule_for(size, batch)
        for name, overrides in GPU_NETS.items():
            runs = {
                p: train_plain(overrides, size, datamodule, steps, device, p == "bf16-mixed")
                for p in ("32-true", "bf16-mixed")
            }
            runs["psnr_difference"] = abs(runs["32-true"]["psnr"] - runs["bf16-mixed"]["psnr"])
            results[f"{name}@{size}"] = runs
    return results


class BusySampler(Callback):
    """Samples the GPU's utilisation every 50 ms while training, and times each step's wait for
    its batch (from the end of one step to the start of the next)."""

    def __init__(self, sample: Callable[[], float | None]) -> None:
        self.sample, self.samples, self.waits, self.steps = sample, [], [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ended: float | None = None
        self.started: float | None = None

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            value = self.sample()
            if value is not None:
                self.samples.append(value)

    def on_train_start(self, trainer, pl_module) -> None:
        self.thread.start()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.started = time.perf_counter()
        if self.ended is not None:
            self.waits.append(self.started - self.ended)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self.ended = time.perf_counter()
        self.steps.append(self.ended - self.started)

    def on_train_end(self, trainer, pl_module) -> None:
        self.stop.set()
        self.thread.join()


def gpu_utilisation() -> float | None:
    """The GPU's busy percentage now (NVML through torch), None where it cannot be read."""
    try:
        return float(torch.cuda.utilization())
    except Exception:  # no NVML, no GPU: the share is left out, not guessed
        return None


def bench_busy(size: int, steps: int, device: torch.device, workdir: Path) -> dict:
    """GPU busy share during a Lightning fit of the default U-Net from the cached data module."""
    datamodule = datamodule_for(size, 32, workdir / "busy-cache")
    net, loss, optimizer = build_setup(["model=unet", "loss=ssim"], size)
    sampler = BusySampler(gpu_utilisation if device.type == "cuda" else lambda: None)
    trainer = bare_trainer(device, steps, sampler)
    with garbage_collector_paused():
        trainer.fit(ColorizationModule(net, loss, optimizer=optimizer), datamodule=datamodule)
    wait, step = statistics.median(sampler.waits or [0.0]), statistics.median(sampler.steps)
    return {
        "busy_percent": statistics.mean(sampler.samples) if sampler.samples else None,
        "samples": len(sampler.samples),
        "data_wait_share": wait / (wait + step),
        "img_s": 32 / (wait + step),
        "size": size,
        "num_workers": datamodule.num_workers,
    }


def bench_compile(size: int, batch: int, steps: int, device: torch.device) -> dict:
    """The U-Net's plain loop with and without torch.compile: first step (compile) and steady img/s."""
    datamodule = datamodule_for(size, batch)
    times = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        net, loss, optimizer = build_setup(["model=unet", "loss=mse"], size)
        loop = PlainLoop(copy.deepcopy(net), loss, datamodule, device, optimizer)
        if compiled:  # what ColorizationModule(compile=True) compiles: the net's colorize
            loop.net.colorize = torch.compile(loop.net.colorize)
        times[compiled] = [loop.step() for _ in range(steps + 1)]
    plain, compiled = (statistics.median(times[c][1:]) for c in (False, True))
    return {
        "compile_first_step_s": times[True][0],
        "plain_img_s": batch / plain,
        "compiled_img_s": batch / compiled,
        "speed_up": plain / compiled,
    }


def bench_quality(mode: str, workdir: Path, landscapes: Path | None, smoke_data: list[str]) -> dict:
    """landscape_best from launch until +2.0 dB (then tested), on `landscapes` (the folder that
    holds color/); the smoke form trains one epoch on synthetic images."""
    if mode == "smoke":
        return bench_time_to_quality(smoke_data, [-40.0, -30.0], workdir, {"best": ["experiment=landscape_best"]})
    if landscapes is None or not (landscapes / "color").is_dir():
        raise FileNotFoundError(f"no landscapes at {landscapes}: pass --landscapes <folder with color/>")
    data = ["data=landscape", f"data.source.root={landscapes}", f"data.cache_dir={workdir / 'quality-cache'}"]
    return bench_time_to_quality(data, [1.0, 2.0], workdir, {"best": ["experiment=landscape_best"]})


def bench_gpu(
    mode: str,
    workdir: Path,
    device: torch.device,
    landscapes: Path | None = None,
    smoke_data: list[str] = (),
    photos: Path | None = None,
) -> dict:
    """Every part of the check on `device` (see the module docstring); a part that fails records why."""
    settings = GPU_MODES[mode]
    parts: dict[str, Callable[[], Any]] = {
        "nets": lambda: bench_nets(settings["sizes"], settings["batch"], settings["steps"], device),
        "lightning": lambda: bench_training(settings["lightning"], settings["steps"], device),
        "busy": lambda: bench_busy(settings["busy_size"], settings["busy_steps"], device, workdir),
        "compile": lambda: bench_compile(settings["sizes"][-1], settings["batch"], settings["steps"], device),
        "predict": lambda: {
            "device": bench_prediction(settings["predict"], 1, workdir / "predict-device", device, photos),
            "cpu": bench_prediction(
                max(2, settings["predict"] // 8), 1, workdir / "predict-cpu", torch.device("cpu"), photos
            ),
        },
        "resume": lambda: bench_resume(workdir, device),
        "quality": lambda: bench_quality(mode, workdir, landscapes, list(smoke_data)),
    }
    results: dict[str, Any] = {"device": str(device), "errors": {}, "seconds": {}}
    for name, part in parts.items():
        started = time.perf_counter()
        try:
            results[name] = part()
        except Exception as error:  # one broken part must not cost the lease the other figures
            results["errors"][name] = f"{type(error).__name__}: {error}\n{traceback.format_exc()[-1500:]}"
        results["seconds"][name] = time.perf_counter() - started
    return results


def format_gpu(figures: dict[str, Any]) -> list[str]:
    """The check's figures as Markdown tables."""
    lines = [
        f"GPU check on {figures['device']}",
        "",
        "| net@size | 32-true img/s | bf16-mixed img/s | losses finite | psnr 32 / bf16 |",
        "|---|---|---|---|---|",
    ]
    for name, runs in figures.get("nets", {}).items():
        full, half = runs["32-true"], runs["bf16-mixed"]
        finite = full["losses_finite"] and half["losses_finite"]
        lines.append(
            f"| {name} | {full['img_s']:.0f} | {half['img_s']:.0f} | {finite} | "
            f"{full['psnr']:.2f} / {half['psnr']:.2f} |"
        )
    for name, r in figures.get("lightning", {}).items():
        lines.append(
            f"Lightning / plain loop, {name}: {r['lightning_img_s']:.0f} / {r['plain_img_s']:.0f} img/s, "
            f"ratio {r['ratio']:.3f}"
        )
    if "busy" in figures:
        busy = figures["busy"]
        share = "unreadable" if busy["busy_percent"] is None else f"{busy['busy_percent']:.0f} %"
        lines.append(
            f"GPU busy while training at {busy['size']}²: {share}; waiting for data "
            f"{busy['data_wait_share']:.0%} of each step; {busy['img_s']:.0f} img/s"
        )
    if "compile" in figures:
        c = figures["compile"]
        lines.append(
            f"torch.compile: first step {c['compile_first_step_s']:.1f} s, steady {c['compiled_img_s']:.0f} "
            f"against {c['plain_img_s']:.0f} img/s (x{c['speed_up']:.2f})"
        )
    if "predict" in figures:
        on, cpu = (figures["predict"][k]["models"]["unet"]["predict_img_s"] for k in ("device", "cpu"))
        lines.append(f"predict, 768x512 photos/s with the U-Net: {on:.1f} on {figures['device']}, {cpu:.1f} on the CPU")
    if "resume" in figures:
        r = figures["resume"]
        lines.append(
            f"kill at step {r['killed_at_step']} and resume: the {r['test_metrics']} test metrics differ by "
            f"at most {r['max_test_difference']:.2e} from the uninterrupted run"
        )
    if "quality" in figures:
        lines.extend(format_time_to_quality(figures["quality"]))
    lines += [f"{name}: FAILED {error.splitlines()[0]}" for name, error in figures.get("errors", {}).items()]
    return lines
