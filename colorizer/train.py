"""`python -m colorizer.train`: fit, test the best checkpoint, write metrics.json.

The Hydra entry point is thin; `train(cfg)` does the work and tests call it directly.
"""

import json
import logging
import math
import time
import traceback
from pathlib import Path
from typing import Any

import hydra
import lightning
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from colorizer.atomic import atomic_write_text
from colorizer.cli import one_line_errors
from colorizer.config import ConfigError, register_resolvers
from colorizer.training.build import build_module, build_trainer, hparams_of
from colorizer.training.checkpointing import load_net_weights, resolve_resume
from colorizer.training.config_checks import check_config, check_model_accepts, check_multirun_strategy
from colorizer.training.stages import plan_stages

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit, test the best checkpoint on the test split, and write `metrics.json`.

    Returns the metrics (fit metrics of the last epoch and test metrics), plus the best
    checkpoint path and the wall time. A config with `stages` runs them in turn (`train_in_stages`).
    """
    if cfg.get("stages"):
        return train_in_stages(cfg)
    start = time.perf_counter()
    check_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    if cfg.get("seed") is not None:
        lightning.seed_everything(cfg.seed, workers=True, verbose=False)

    requested = cfg.get("ckpt_path") or ("last" if cfg.get("resume") else None)
    ckpt_path = resolve_resume(output_dir / "checkpoints", requested)
    # A resumed run's checkpoint brings every weight; init_from only starts a fresh run from them.
    init_from = cfg.get("init_from") if ckpt_path is None else None
    datamodule = instantiate(cfg.data)
    module = build_module(cfg, resuming=ckpt_path is not None or bool(init_from))
    if init_from:
        load_net_weights(module.net, init_from)
    check_model_accepts(module.net, cfg.data.image_size)
    if cfg.data.get("half_size_epochs", 0) > 0:
        try:
            check_model_accepts(module.net, cfg.data.image_size // 2)
        except ConfigError as error:
            raise ConfigError(
                f"data.half_size_epochs={cfg.data.half_size_epochs} trains at half size first, and {error} "
                "Or set data.half_size_epochs=0 for this model."
            ) from error
    trainer = build_trainer(cfg)
    run_config = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:  # W&B's config, MLflow's params; TensorBoard has its HPARAMS verdict
        if hasattr(logger, "log_run_config"):
            logger.log_run_config(run_config)

    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    if trainer.is_global_zero:
        datamodule.write_skipped_files(output_dir)
    metrics: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items()}

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    test_results = trainer.test(module, datamodule=datamodule, ckpt_path=best or None)
    metrics.update({k: float(v) for k, v in test_results[0].items()})
    metrics["best_checkpoint"] = best or None
    metrics["wall_time_s"] = round(time.perf_counter() - start, 2)

    if trainer.is_global_zero:
        test_only = {k: v for k, v in metrics.items() if k.startswith("test/")}
        for logger in trainer.loggers:
            if hasattr(logger, "log_verdict"):
                logger.log_verdict(hparams_of(cfg, module), test_only)
            if hasattr(logger, "finish"):  # W&B: the next job of a sweep in this process gets a run of its own
                logger.finish()
        # Whole or absent: summarize takes a run with metrics.json as finished.
        atomic_write_text(output_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True))
        log.info(
            "Test: psnr %.2f dB (gray %.2f, gain %+.2f), ssim %.4f, rmse_ab %.2f. Run folder: %s",
            metrics.get("test/psnr", float("nan")),
            metrics.get("test/gray_psnr", float("nan")),
            metrics.get("test/psnr_gain", float("nan")),
            metrics.get("test/ssim", float("nan")),
            metrics.get("test/rmse_ab", float("nan")),
            output_dir,
        )
    return metrics


def last_checkpoint(run_folder: Path) -> str | None:
    path = run_folder / "checkpoints" / "last.ckpt"
    return str(path) if path.is_file() else None


def train_in_stages(cfg: DictConfig) -> dict[str, Any]:
    """Each stage of `cfg.stages` as a run of its own in `<run folder>/<stage>/`, from the previous
    stage's best weights; a finished stage is skipped and an interrupted one resumed. Returns the
    last stage's metrics with every stage's test figures under "stages"."""
    start = time.perf_counter()
    output_dir = Path(cfg.paths.output_dir)
    weights = cfg.get("init_from")
    by_stage: dict[str, dict[str, Any]] = {}
    for stage in plan_stages(cfg, output_dir):
        metrics = stage.finished_metrics()
        if metrics is None:
            stage.config.ckpt_path = "last" if stage.can_resume() else None
            stage.config.init_from = weights
            log.info("Stage %s: %s in %s", stage.name, "resuming" if stage.can_resume() else "training", stage.folder)
            metrics = train(stage.config)
        else:
            log.info("Stage %s finished before (%s): skipped.", stage.name, stage.folder / "metrics.json")
        weights = metrics.get("best_checkpoint") or last_checkpoint(stage.folder)
        if weights is None:
            log.warning("Stage %s saved no checkpoint: the next stage starts from its own initial weights.", stage.name)
        by_stage[stage.name] = {k: v for k, v in metrics.items() if k.startswith("test/") or k == "best_checkpoint"}
    summary = {**metrics, "stages": by_stage, "wall_time_s": round(time.perf_counter() - start, 2)}
    atomic_write_text(output_dir / "metrics.json", json.dumps(summary, indent=2, sort_keys=True))
    return summary


def run_sweep_job(cfg: DictConfig) -> float:
    """One job of a sweep: a failure is written to the job's folder and the sweep goes on."""
    try:
        metrics = train(cfg)
    except Exception as error:
        folder = Path(cfg.paths.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        reason = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"
        (folder / "error.txt").write_text(f"{reason}\n\n{traceback.format_exc()}")
        log.error("This job failed (%s: %s); details in %s. The sweep goes on.", type(error).__name__, error, folder)
        return math.nan
    return optimized_value(cfg, metrics)


def optimized_value(cfg: DictConfig, metrics: dict[str, Any]) -> float:
    """The run's `optimized_metric` for a sweeper (NaN when the run did not log it)."""
    value = metrics.get(cfg.get("optimized_metric"))
    return math.nan if value is None else float(value)


register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    with one_line_errors("colorizer.train", InstantiationException):  # a setting a constructor refused
        check_multirun_strategy(cfg, multirun)
        return run_sweep_job(cfg) if multirun else optimized_value(cfg, train(cfg))


if __name__ == "__main__":
    main()
