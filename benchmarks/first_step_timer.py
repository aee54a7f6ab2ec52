"""How long a user waits for training to start: seconds from launch to the first step."""

import json
import logging
import time
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

from colorizer.atomic import atomic_write

log = logging.getLogger(__name__)


class FirstStepTimer(Callback):
    """Logs (and writes to `report` as JSON, if given) the seconds from `launched_at` (a
    `time.time()` taken before the command was started) to the start and the end of the first
    training step. Lightning's profilers time hooks inside `fit`, not the imports and set-up before it.
    """

    def __init__(self, launched_at: float, report: str | None = None) -> None:
        self.launched_at = launched_at
        self.report = Path(report) if report else None
        self.started: float | None = None
        self.done = False

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, batch_idx: int) -> None:
        if self.started is None:
            self.started = time.time() - self.launched_at

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self.done or self.started is None:
            return
        self.done = True
        ended = time.time() - self.launched_at
        log.info("First training step started %.2f s and ended %.2f s after launch.", self.started, ended)
        if self.report is not None:
            figures = {"first_step_start_s": self.started, "first_step_end_s": ended}
            atomic_write(self.report, lambda handle: handle.write(json.dumps(figures).encode()))
