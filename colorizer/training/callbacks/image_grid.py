"""Logs one image grid per validation epoch: gray input | prediction | truth. A classification
model's prediction is shown at each of a few decoding temperatures, its own first.

Lightning has no image logging of its own; this hands the grid to every logger with a
`log_grid` (TensorBoard's IMAGES, W&B's images, MLflow's artifacts) and, when none has one
(CSV only), writes a PNG into the run folder instead.
"""

from pathlib import Path

import torch
import torchvision
from lightning.pytorch import Callback, LightningModule, Trainer

from colorizer.color import gray_rgb, rebuild_rgb
from colorizer.data.transforms import lab_batch
from colorizer.models.heads import temperature_of


def colorization_grid(L: torch.Tensor, predictions: list[torch.Tensor], true_ab: torch.Tensor) -> torch.Tensor:
    """[3, H', W'] grid with one row per image: gray | each prediction | truth (L [B,1,H,W], ab [B,2,H,W])."""
    columns = [gray_rgb(L), *(rebuild_rgb(L, ab) for ab in predictions), rebuild_rgb(L, true_ab)]
    rows = torch.stack(columns, dim=1)
    return torchvision.utils.make_grid(rows.flatten(0, 1), nrow=len(columns), padding=2, pad_value=1.0)


class ImageGridLogger(Callback):
    """Colorizes the same first `num_images` validation images after every validation epoch.

    For a classification head the prediction columns are its own temperature, then each of
    `temperatures` (the column order is written once as the text `<tag>/columns`).
    """

    def __init__(
        self, num_images: int = 8, tag: str = "val/colorization", temperatures: tuple[float, ...] | list[float] = ()
    ) -> None:
        self.num_images = num_images
        self.tag = tag
        self.temperatures = [float(t) for t in temperatures]

    def _predictions(self, net: torch.nn.Module, L: torch.Tensor) -> tuple[list[torch.Tensor], list[str]]:
        own = temperature_of(net)
        if own is None:
            return [net(L)], ["prediction"]
        temperatures = [own, *(t for t in self.temperatures if t != own)]
        return [net(L, None, t) for t in temperatures], [f"T={t:g}" for t in temperatures]

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.datamodule is None:
            return
        data = trainer.datamodule
        images = data.split_images("val", torch.arange(min(self.num_images, data.split_size("val"))))
        images = images.to(pl_module.device)
        if len(images) == 0:
            return
        batch = lab_batch(images)
        with torch.no_grad():
            predictions, names = self._predictions(pl_module.net, batch["L"])
        grid = colorization_grid(batch["L"], predictions, batch["ab"]).cpu()
        columns = ["gray input", *names, "truth"]
        written = False
        for logger in trainer.loggers:
            if hasattr(logger, "log_grid"):
                logger.log_grid(self.tag, grid, trainer.global_step, columns)
                written = True
        if not written and trainer.log_dir:
            folder = Path(trainer.log_dir) / "images"
            folder.mkdir(parents=True, exist_ok=True)
            torchvision.utils.save_image(grid, folder / f"epoch{trainer.current_epoch:03d}.png")
