"""TensorBoard arranged for the question every run asks: is the model above the gray baseline,
and since when.

Lightning's TensorBoardLogger, with three changes a subclass is the place for:
- SCALARS expands its first two tag groups (sorted by name): the bookkeeping scalars `epoch`
  and `lr-*` move into `train/schedule/`, so the two groups that open are `train` (losses
  first) and `val`;
- a CUSTOM SCALARS layout puts each metric on one chart with its baseline;
- HPARAMS gets the test split's headline scores in a run of its own (`<log dir>/verdict`,
  group `verdict/`, sorted after `val/`), with no experiment summary, so that TensorBoard works
  out itself which hyperparameters differ between the runs it sees and shows those first.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

# The test scores HPARAMS shows as columns (TensorBoard displays the first five by default).
HEADLINE_METRICS = ("psnr", "psnr_gain", "ssim", "colorfulness", "colorfulness_ratio")
VERDICT = "verdict"


def _against(metric: str, baseline: str) -> list:
    return ["Multiline", [rf"^val/{metric}$", rf"^val/{baseline}$"]]


CUSTOM_SCALARS = {
    "val: the model against its baseline": {
        "psnr (dB) vs gray_psnr": _against("psnr", "gray_psnr"),
        "ssim vs gray_ssim": _against("ssim", "gray_ssim"),
        "rmse_ab vs gray_rmse_ab": _against("rmse_ab", "gray_rmse_ab"),
        "colorfulness vs colorfulness_true": _against("colorfulness", "colorfulness_true"),
        "ab_jsd vs gray_ab_jsd": _against("ab_jsd", "gray_ab_jsd"),
        "loss terms": ["Multiline", [r"^val/loss(_.+)?$"]],
    },
    "train": {
        "loss terms (epoch means)": ["Multiline", [r"^train/loss(_.+)?_epoch$", r"^train/.+_adversary_loss_epoch$"]],
        "loss terms (steps)": ["Multiline", [r"^train/loss(_.+)?_step$", r"^train/.+_adversary_loss_step$"]],
    },
}


def tensorboard_tag(name: str) -> str:
    """Where a logged metric appears in TensorBoard: Lightning's `epoch` and `lr-*` under
    `train/schedule/`, after the loss cards."""
    return f"train/schedule/{name}" if name == "epoch" or name.startswith("lr-") else name


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings -> {"model/base_width": 16, ...}; lists and None become text, as HPARAMS needs."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}/"))
        else:
            flat[name] = value if isinstance(value, bool | int | float | str) else str(value)
    return flat


class ColorizerTensorBoardLogger(TensorBoardLogger):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._columns_written = False

    @property
    @rank_zero_experiment
    def experiment(self) -> SummaryWriter:
        first = self._experiment is None
        writer = super().experiment
        if first:
            writer.add_custom_scalars(CUSTOM_SCALARS)
        return writer

    @rank_zero_only
    def log_grid(self, tag: str, grid: torch.Tensor, step: int, columns: list[str]) -> None:
        """The validation grid [3,H,W] in [0,1] into IMAGES, its column names once as TEXT."""
        self.experiment.add_image(tag, grid, global_step=step)
        if not self._columns_written:
            self.experiment.add_text(f"{tag}/columns", " | ".join(columns))
            self._columns_written = True

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Test scores go to `log_verdict` (HPARAMS) instead of one-point curves."""
        curves = {tensorboard_tag(k): v for k, v in metrics.items() if not k.startswith("test/")}
        if curves:
            super().log_metrics(curves, step)

    @rank_zero_only
    def log_verdict(self, params: Mapping[str, Any], metrics: Mapping[str, float]) -> Path:
        """Write the run's hyperparameters and its headline test scores (`test/<name>` keys in
        `metrics`) for HPARAMS, into `<log dir>/verdict`. Returns that folder."""
        scores = {f"{VERDICT}/{name}": float(metrics[f"test/{name}"]) for name in HEADLINE_METRICS}
        _, session_start, session_end = hparams(flatten(params), scores)
        folder = Path(self.log_dir) / VERDICT
        with SummaryWriter(str(folder)) as writer:
            file_writer = writer._get_file_writer()
            file_writer.add_summary(session_start)
            file_writer.add_summary(session_end)
            for tag, value in scores.items():
                writer.add_scalar(tag, value, 0)
        return folder
