"""Weights & Biases beside TensorBoard: Lightning's WandbLogger, offline unless a key is set (never
a login prompt, never a wait for a network), with the run's Hydra config as the W&B config,
the validation grid as `wandb.Image` rows, the test verdict in the run summary and a chart of
`val/psnr` against `val/gray_psnr`."""

import netrc
import os
from collections.abc import Mapping
from typing import Any

import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from colorizer.training.loggers.tensorboard import HEADLINE_METRICS, VERDICT

# The model-against-gray view: the curves the chart pairs, and where W&B keeps them.
BASELINE_PAIRS = {"val/psnr": "val/gray_psnr", "val/ssim": "val/gray_ssim", "val/rmse_ab": "val/gray_rmse_ab"}
CHART = "charts/val_psnr_vs_gray"


def wandb_key_configured() -> bool:
    """Whether wandb could log in without asking: WANDB_API_KEY, or an api.wandb.ai entry in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def offline_mode(offline: bool | None) -> bool:
    """`offline` as configured; None: offline when WANDB_MODE says so or no key is configured."""
    if offline is not None:
        return offline
    return os.environ.get("WANDB_MODE", "").lower() in ("offline", "dryrun") or not wandb_key_configured()


class ColorizerWandbLogger(WandbLogger):
    """WandbLogger with `offline=None` meaning "offline unless a key is configured"."""

    def __init__(self, offline: bool | None = None, **kwargs: Any) -> None:
        super().__init__(offline=offline_mode(offline), **kwargs)
        self._baseline_curves: dict[str, list[tuple[int, float]]] = {name: [] for name in ("val/psnr", "val/gray_psnr")}

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        first = self._experiment is None
        run = super().experiment
        if first:
            for metric, baseline in BASELINE_PAIRS.items():
                run.define_metric(
                    metric, step_metric="trainer/global_step", summary="max" if "psnr" in metric else "min"
                )
                run.define_metric(baseline, step_metric="trainer/global_step", summary="last")
        return run

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        for name, curve in self._baseline_curves.items():
            if name in metrics and step is not None:
                curve.append((step, float(metrics[name])))
        super().log_metrics(metrics, step)

    @rank_zero_only
    def log_run_config(self, config: Mapping[str, Any]) -> None:
        """The run's whole Hydra config, nested as it is, as the W&B config."""
        self.experiment.config.update(dict(config), allow_val_change=True)

    @rank_zero_only
    def log_grid(self, tag: str, grid: torch.Tensor, step: int, columns: list[str]) -> None:
        """The validation grid [3,H,W] in [0,1] as a `wandb.Image`, its columns as the caption."""
        self.log_image(key=tag, images=[grid], step=step, caption=[" | ".join(columns)])

    @rank_zero_only
    def log_verdict(self, params: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """The headline test scores into the run summary, and the chart of psnr against gray."""
        import wandb

        run = self.experiment
        run.summary.update({f"{VERDICT}/{name}": float(metrics[f"test/{name}"]) for name in HEADLINE_METRICS})
        model, gray = (self._baseline_curves[name] for name in ("val/psnr", "val/gray_psnr"))
        if model:
            chart = wandb.plot.line_series(
                xs=[step for step, _ in model],
                ys=[[v for _, v in model], [v for _, v in gray]],
                keys=["val/psnr", "val/gray_psnr"],
                title="val/psnr against the gray baseline",
                xname="step",
            )
            run.log({CHART: chart})

    @rank_zero_only
    def finish(self) -> None:
        """End the W&B run (written to disk offline), so that the next run in this process is its own."""
        if self._experiment is not None:
            self._experiment.finish()
