"""How busy the GPU is while Lightning trains, and how long each step waits for data."""

import threading
import time
from collections.abc import Callable

import torch
from lightning.pytorch import Callback


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
