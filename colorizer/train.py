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
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from colorizer.atomic import atomic_write_text
from colorizer.device import training_precision
from colorizer.models.base import ColorizationNet
from colorizer.models.encoders import without_pretrained_loading
from colorizer.training.checkpointing import AtomicCheckpointIO, RNGStateCheckpoint, resolve_resume
from colorizer.training.config_checks import ConfigError, check_types
from colorizer.training.module import ColorizationModule

log = logging.getLogger(__name__)


def optimizer_factory(optimizer: DictConfig) -> Any:
    """The optimiser factory of the `optimizer` group, less `encoder_lr_mult`: a setting of the
    optimiser in the config, but one the module applies to its parameter groups."""
    return instantiate({k: v for k, v in optimizer.items() if k != "encoder_lr_mult"})


def build_module(cfg: DictConfig, resuming: bool = False) -> ColorizationModule:
    """The LightningModule from the `model`, `loss`, `optimizer` and `scheduler` groups.
    `resuming`: the checkpoint brings every weight, so a pretrained encoder is built without its own."""
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    model = OmegaConf.to_container(cfg.model, resolve=True)
    return ColorizationModule(
        net=instantiate(without_pretrained_loading(model) if resuming else model),
        loss=instantiate(cfg.loss),
        optimizer=optimizer_factory(cfg.optimizer),
        encoder_lr_mult=cfg.optimizer.get("encoder_lr_mult", 1.0),
        scheduler=scheduler,
        scheduler_monitor=cfg.monitor,
        channels_last=cfg.get("channels_last", True),
        compile=cfg.get("compile", False),
        config=OmegaConf.to_container(cfg, resolve=True),
        hint_simulator=instantiate(cfg.hints) if model.get("hints") else None,
    )


def build_trainer(cfg: DictConfig) -> lightning.Trainer:
    """The Trainer with the configured callbacks and loggers (each group is a dict of objects)."""
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    callbacks.append(RNGStateCheckpoint())
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    precision = training_precision(cfg.trainer.get("precision", "32-true"), str(cfg.trainer.get("accelerator", "auto")))
    return instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()], precision=precision
    )


def check_config(cfg: DictConfig) -> None:
    """Problems that would otherwise surface late, or as a bare traceback."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        hints = {"data.root": "the folder with your images, e.g. data.root=~/photos"}
        raise ConfigError(
            "Missing required settings: " + ", ".join(f"{k} ({hints[k]})" if k in hints else k for k in missing)
        )
    check_types(cfg)
    output_dir = Path(cfg.paths.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise ConfigError(
            f"Cannot write to the output folder {output_dir} ({error.strerror}). "
            "Choose a writable one with hydra.run.dir=... (or paths.output_dir=...)."
        ) from error


def check_model_accepts(net: ColorizationNet, image_size: int) -> None:
    """Run one tiny forward pass at the data's image size before training starts."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            output = net.colorize(torch.zeros(1, 1, image_size, image_size))
    except Exception as error:
        raise ConfigError(
            f"{type(net).__name__} cannot take data.image_size={image_size}: {error} "
            "Change data.image_size, or the model's own image_size to match it."
        ) from error
    finally:
        net.train(was_training)
    if output.ab.shape[-2:] != (image_size, image_size):
        raise ConfigError(f"{type(net).__name__} returns {tuple(output.ab.shape[-2:])} for a {image_size} input.")


# The data and trainer settings that change what a run learns; paths, workers and memory budgets do not.
DATA_HPARAMS = ("_target_", "image_size", "batch_size", "num_images", "flip", "half_size_epochs", "crop_scale",
                "split_seed", "fold")  # fmt: skip
TRAINER_HPARAMS = ("max_epochs", "precision", "accumulate_grad_batches", "gradient_clip_val")


def hparams_of(cfg: DictConfig, module: ColorizationModule) -> dict[str, Any]:
    """The settings that distinguish runs, for TensorBoard's HPARAMS tab."""
    chosen = OmegaConf.to_container(cfg, resolve=True)
    params = {key: chosen.get(key) for key in ("model", "loss", "optimizer", "scheduler", "seed")}
    params["data"] = {k: chosen["data"][k] for k in DATA_HPARAMS if k in chosen["data"]}
    params["trainer"] = {k: chosen["trainer"][k] for k in TRAINER_HPARAMS if k in chosen["trainer"]}
    params["params_total"] = module.parameter_count()
    return params


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit, test the best checkpoint on the test split, and write `metrics.json`.

    Returns the metrics (fit metrics of the last epoch and test metrics), plus the best
    checkpoint path and the wall time.
    """
    start = time.perf_counter()
    check_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    if cfg.get("seed") is not None:
        lightning.seed_everything(cfg.seed, workers=True)

    requested = cfg.get("ckpt_path") or ("last" if cfg.get("resume") else None)
    ckpt_path = resolve_resume(output_dir / "checkpoints", requested)
    datamodule = instantiate(cfg.data)
    module = build_module(cfg, resuming=ckpt_path is not None)
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


def check_multirun_strategy(cfg: DictConfig, multirun: bool) -> None:
    """Refuse `strategy=ddp` under Hydra multirun: it relaunches the command line per rank,
    so every rank would run the whole sweep again."""
    strategy = str(cfg.trainer.get("strategy", "auto"))
    if multirun and strategy.startswith("ddp") and not strategy.startswith("ddp_spawn"):
        raise ValueError(
            f"trainer.strategy={strategy} cannot run inside a Hydra multirun (it relaunches the whole sweep "
            "on every rank). Use trainer.strategy=ddp_spawn for the sweep, or launch one job per run with "
            "hydra/launcher=slurm (or submitit_local), where Lightning's DDP works as usual."
        )


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


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    check_multirun_strategy(cfg, multirun)
    return run_sweep_job(cfg) if multirun else optimized_value(cfg, train(cfg))


if __name__ == "__main__":
    main()
