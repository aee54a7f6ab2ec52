"""An interruption drill: stop a run mid-epoch where a kill will find it."""

import time
from pathlib import Path

from lightning.pytorch import Callback


class PauseAtStep(Callback):
    """Writes `marker` and waits (for `seconds`) at global step `step`, so that a drill (the
    resume tests, the GPU check) can kill the run there, as a power cut would."""

    def __init__(self, step: int, marker: str, seconds: float = 600.0) -> None:
        self.step = step
        self.marker = Path(marker)
        self.seconds = seconds

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            self.marker.write_text(f"paused at step {self.step}")
            time.sleep(self.seconds)
