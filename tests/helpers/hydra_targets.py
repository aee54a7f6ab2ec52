"""Test-only pieces that runs load by their Hydra `_target_` (`tests.helpers.hydra_targets.<Name>`)."""

import hashlib
from pathlib import Path

from lightning.pytorch import Callback


class RecordTrainImages(Callback):
    """Appends a hash of every training image's L channel to `<folder>/rank<global rank>.txt`,
    so a test can see which images each DDP rank trained on."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        hashes = [hashlib.sha1(image.cpu().numpy().tobytes()).hexdigest() for image in batch["L"]]
        with (self.folder / f"rank{trainer.global_rank}.txt").open("a") as handle:
            handle.write("".join(f"{h}\n" for h in hashes))
