"""How long a user waits for a model worth looking at: wall time until a validation metric
first reaches each target, with the step time and the number of steps it took apart."""

import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from colorizer.atomic import atomic_write

log = logging.getLogger(__name__)


class QualityTimer(Callback):
    """Records, at every validation, the seconds since `launched_at` (a `time.time()` taken
    before the command started), the global step and `monitor`; and for each of `targets`
    the first validation where `monitor` reached it. Writes all of it to `report` (JSON) after
    each validation, so a killed run leaves what it measured.

    Step time is the median wall time of a training step (batch fetch to optimizer update, hooks
    included), so a faster step and fewer steps to a target show apart. With `stop_at_last`, the
    run stops at the validation that reaches the highest target (it still tests afterwards).
    """

    def __init__(
        self,
        launched_at: float,
        targets: list[float],
        monitor: str = "val/psnr_gain",
        report: str | None = None,
        stop_at_last: bool = False,
    ) -> None:
        self.launched_at = launched_at
        self.targets = sorted(float(t) for t in targets)
        self.monitor = monitor
        self.report = Path(report) if report else None
        self.stop_at_last = stop_at_last
        self.history: list[dict[str, float]] = []
        self.reached: dict[str, dict[str, float]] = {}
        self.step_seconds: list[float] = []
        self.step_started: float | None = None

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, batch_idx: int) -> None:
        self.step_started = time.perf_counter()

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self.step_started is not None:
            self.step_seconds.append(time.perf_counter() - self.step_started)
            self.step_started = None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        point = {"wall_s": time.time() - self.launched_at, "step": trainer.global_step, "value": value}
        self.history.append(point)
        for target in self.targets:
            if str(target) not in self.reached and value >= target:
                self.reached[str(target)] = point
                log.info(
                    "%s reached %+.2f (target %+.2f) after %.0f s and %d steps.",
                    self.monitor,
                    value,
                    target,
                    point["wall_s"],
                    point["step"],
                )
        if self.stop_at_last and self.targets and str(self.targets[-1]) in self.reached:
            trainer.should_stop = True
        self.write()

    def figures(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "targets": self.targets,
            "reached": self.reached,
            "history": self.history,
            "median_step_s": statistics.median(self.step_seconds) if self.step_seconds else None,
            "steps_timed": len(self.step_seconds),
        }

    def write(self) -> None:
        if self.report is not None:
            figures = json.dumps(self.figures(), indent=1).encode()
            atomic_write(self.report, lambda handle: handle.write(figures))
