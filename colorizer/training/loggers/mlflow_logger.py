"""MLflow beside TensorBoard: Lightning's MLFlowLogger with a local SQLite store by default, the
run's Hydra config flattened as params, the run named after Hydra's job (and its overrides, so
the jobs of a sweep tell themselves apart in MLflow's compare view), the test verdict as metrics
and the validation grid as image artifacts."""

from collections.abc import Mapping
from typing import Any

import torch
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.utilities import rank_zero_only

from colorizer.training.loggers.tensorboard import HEADLINE_METRICS, VERDICT, flatten

# MLflow refuses a param value longer than this (its documented limit for most stores).
PARAM_LIMIT = 500


def hydra_run_name() -> str | None:
    """ "<job name>:<overrides>" of the running Hydra job (without the logger's own settings, the
    same for every job of a sweep), or None outside one (tests, notebooks)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    overrides = [o for o in hydra.overrides.task if not o.lstrip("+~").startswith(("logger", "hydra."))]
    return f"{hydra.job.name}:{','.join(overrides)}" if overrides else hydra.job.name


class ColorizerMLFlowLogger(MLFlowLogger):
    """MLFlowLogger whose `run_name=None` means Hydra's job name and overrides."""

    def __init__(self, run_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(run_name=run_name or hydra_run_name(), **kwargs)
        self._columns_written = False

    @rank_zero_only
    def log_run_config(self, config: Mapping[str, Any]) -> None:
        """The run's Hydra config flattened to params ("model/base_width": 16, ...), without the
        settings that name the run's own folder: they differ between any two runs and say nothing."""
        own_folder = str((config.get("paths") or {}).get("output_dir") or "\0")
        params = {
            key: str(value)[:PARAM_LIMIT] for key, value in flatten(config).items() if own_folder not in str(value)
        }
        self.log_hyperparams(params)

    @rank_zero_only
    def log_grid(self, tag: str, grid: torch.Tensor, step: int, columns: list[str]) -> None:
        """The validation grid [3,H,W] in [0,1] as `<tag>/step<N>.png`, its columns in a text file once."""
        pixels = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
        self.experiment.log_image(self.run_id, pixels, artifact_file=f"{tag}/step{step:06d}.png")
        if not self._columns_written:
            self.experiment.log_text(self.run_id, " | ".join(columns), f"{tag}/columns.txt")
            self._columns_written = True

    @rank_zero_only
    def log_verdict(self, params: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """The headline test scores as `verdict/<name>` metrics, the names TensorBoard and W&B use."""
        self.log_metrics({f"{VERDICT}/{name}": float(metrics[f"test/{name}"]) for name in HEADLINE_METRICS})
