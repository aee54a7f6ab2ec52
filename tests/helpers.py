"""Test-only pieces that runs load by their Hydra `_target_`."""

import time
from pathlib import Path

from lightning.pytorch import Callback


class StallAtStep(Callback):
    """Writes `marker` and stalls at global step `step`, so a test can kill the run mid-epoch."""

    def __init__(self, step: int, marker: str) -> None:
        self.step = step
        self.marker = Path(marker)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            self.marker.write_text(f"stalled at step {self.step}")
            time.sleep(600)
