"""Training section: Lightning against a plain PyTorch loop, step by step on the same net, loss and batches."""

import contextlib
import copy
import gc
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import lightning
import torch
from hydra.utils import instantiate
from lightning.pytorch import Callback

from benchmarks.common import build_datamodule, compose_train_config
from colorizer.data.defaults import SPLIT_FRACTIONS
from colorizer.data.transforms import lab_batch
from colorizer.losses import CompositeLoss, LossResult
from colorizer.training.module import ColorizationModule

# Each benchmarked setup as the overrides `python -m colorizer.train` takes (VGG weights are not
# downloadable here, and only the perceptual term's cost matters, not its weights).
MODELS = {
    "vae/composite": ["model=vae", "loss=composite", "loss.perceptual.pretrained=false"],
    "cae/mse": ["model=cae", "loss=mse"],
    "unet/ssim": ["model=unet", "loss=ssim"],
}


def build_setup(overrides: list[str], size: int) -> tuple[torch.nn.Module, CompositeLoss, Callable]:
    """The net, loss and optimizer factory that `colorizer.train` builds for these overrides at `size`."""
    cfg = compose_train_config([*overrides, f"data.image_size={size}"])
    return instantiate(cfg.model), instantiate(cfg.loss), instantiate(cfg.optimizer)


class PlainLoop:
    """A hand-written training loop with the same data, Lab hook, net, loss and optimizer as
    `ColorizationModule` under Lightning, advanced one step at a time; with `bf16`, the net runs
    under bfloat16 autocast and the loss in fp32, as under `trainer.precision=bf16-mixed`."""

    def __init__(
        self,
        net: torch.nn.Module,
        loss: CompositeLoss,
        datamodule,
        device: torch.device,
        optimizer: Callable,
        bf16: bool = False,
    ) -> None:
        self.net = net.to(device).to(memory_format=torch.channels_last).train()
        self.loss, self.device, self.bf16 = loss, device, bf16
        self.optimizer = optimizer(self.net.parameters())
        self.loader = datamodule.train_dataloader()
        self.batches = iter(self.loader)
        self.steps = 0
        self.finite: list[bool] = []  # per step: was the loss finite

    def loss_of(self, batch: dict[str, torch.Tensor]) -> LossResult:
        """The loss of the net on a Lab batch, built as `ColorizationModule.score` builds it (the same
        `loss_inputs`), with the net under bf16 autocast if asked and the loss in fp32."""
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16):
            output = self.net.colorize(batch["L"].contiguous(memory_format=torch.channels_last))
        return self.loss(ColorizationModule.loss_inputs(batch, output), step=self.steps)

    def step(self) -> float:
        """One step, from fetching the batch to the optimizer update; returns its seconds."""
        start = time.perf_counter()
        images = next(self.batches, None)
        if images is None:  # the next epoch, as Lightning would start it
            self.batches = iter(self.loader)
            images = next(self.batches)
        result = self.loss_of(lab_batch(images.to(self.device, non_blocking=True), flip=True))
        self.optimizer.zero_grad(set_to_none=True)
        result.total.backward()
        self.optimizer.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.finite.append(bool(torch.isfinite(result.total.detach())))
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


def bare_trainer(device: torch.device, steps: int, callback: lightning.Callback) -> lightning.Trainer:
    """A Trainer of `steps` training steps on one device and nothing else (no validation, logger,
    checkpoints or progress bar): the training that a benchmark times, with its `callback`."""
    return lightning.Trainer(
        accelerator=device.type,
        devices=1,
        max_steps=steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[callback],
    )


def interleaved_steps(
    net, loss, optimizer: Callable, plain_losses: dict[str, CompositeLoss], datamodule, steps: int, device
) -> dict:
    """Step times of a Lightning `fit` of `steps` steps and of plain loops, interleaved step by step."""
    loops = {
        name: PlainLoop(copy.deepcopy(net), other, datamodule, device, optimizer)
        for name, other in plain_losses.items()
    }
    timer = InterleavedPlainSteps(loops)
    trainer = bare_trainer(device, steps, timer)
    module = ColorizationModule(copy.deepcopy(net), loss, optimizer=optimizer)
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
        # Enough training images for all steps of every loop in one epoch.
        count = int(batch_size * (steps + 1) / SPLIT_FRACTIONS["train"]) + 8
        data = [f"data.source.num_images={count}", f"data.image_size={size}", f"data.batch_size={batch_size}"]
        datamodule = build_datamodule([*data, "data.cache_dir=null"])
        datamodule.setup()
        for name, overrides in MODELS.items():
            torch.manual_seed(0)
            net, loss, optimizer = build_setup(overrides, size)
            plain_losses = {"plain": loss}
            if "perceptual" in loss.terms:
                plain_losses["without_perceptual"] = build_setup([*overrides, "loss.perceptual.weight=0"], size)[1]
            times: dict[str, list[float]] = {}
            for _ in range(runs):
                measured = interleaved_steps(net, loss, optimizer, plain_losses, datamodule, steps, device)
                for side, seconds in measured.items():
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
