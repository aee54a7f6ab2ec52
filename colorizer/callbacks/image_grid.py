"""Logs one image grid per validation epoch: gray input | prediction | truth.

Lightning has no image logging of its own; this feeds TensorBoard's IMAGES tab and, for
loggers without images (CSV), writes a PNG into the run folder instead.
"""

from pathlib import Path

import torch
import torchvision
from lightning.pytorch import Callback, LightningModule, Trainer

from colorizer.color import gray_rgb, rebuild_rgb
from colorizer.data.datamodule import lab_batch


def colorization_grid(L: torch.Tensor, pred_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
    """[3, H', W'] grid with one row per image: gray | prediction | truth (inputs [B,1|2,H,W])."""
    rows = torch.stack([gray_rgb(L), rebuild_rgb(L, pred_ab), rebuild_rgb(L, true_ab)], dim=1)
    return torchvision.utils.make_grid(rows.flatten(0, 1), nrow=3, padding=2, pad_value=1.0)


class ImageGridLogger(Callback):
    """Colorizes the same first `num_images` validation images after every validation epoch."""

    def __init__(self, num_images: int = 8, tag: str = "val/colorization") -> None:
        self.num_images = num_images
        self.tag = tag

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.datamodule is None:
            return
        images = trainer.datamodule.split_images("val")[: self.num_images].to(pl_module.device)
        if len(images) == 0:
            return
        batch = lab_batch(images)
        with torch.no_grad():
            pred_ab = pl_module(batch["L"])
        grid = colorization_grid(batch["L"], pred_ab, batch["ab"]).cpu()
        written = False
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "add_image"):
                experiment.add_image(self.tag, grid, global_step=trainer.global_step)
                written = True
        if not written and trainer.log_dir:
            folder = Path(trainer.log_dir) / "images"
            folder.mkdir(parents=True, exist_ok=True)
            torchvision.utils.save_image(grid, folder / f"epoch{trainer.current_epoch:03d}.png")
