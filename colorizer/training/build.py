"""Building a run from its config: the LightningModule (net, loss, optimiser, scheduler), the
Trainer (callbacks, loggers, precision, atomic checkpoints) and the hyperparameters it logs."""

from typing import Any

import lightning
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from colorizer.device import training_precision
from colorizer.models.encoders import without_pretrained_loading
from colorizer.training.checkpointing import AtomicCheckpointIO, RNGStateCheckpoint
from colorizer.training.module import ColorizationModule


def build_module(cfg: DictConfig, resuming: bool = False) -> ColorizationModule:
    """The LightningModule from the `model`, `loss`, `optimizer` and `scheduler` groups.
    `resuming`: the checkpoint brings every weight, so a pretrained encoder is built without its own."""
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    model = OmegaConf.to_container(cfg.model, resolve=True)
    return ColorizationModule(
        net=instantiate(without_pretrained_loading(model) if resuming else model),
        loss=instantiate(cfg.loss),
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
        scheduler_monitor=cfg.monitor,
        channels_last=cfg.get("channels_last", True),
        compile=cfg.get("compile", False),
        config=OmegaConf.to_container(cfg, resolve=True),
        hint_simulator=instantiate(cfg.hint_simulator) if model.get("hints") else None,
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


# The data and trainer settings that change what a run learns; paths, workers and memory budgets do not.
DATA_HPARAMS = (
    "_target_",
    "image_size",
    "source_size",
    "train_fraction",
    "batch_size",
    "source",
    "flip",
    "half_size_epochs",
    "crop_scale",
    "split_seed",
    "fold",
)
TRAINER_HPARAMS = ("max_epochs", "precision", "accumulate_grad_batches", "gradient_clip_val")


def hparams_of(cfg: DictConfig, module: ColorizationModule) -> dict[str, Any]:
    """The settings that distinguish runs, for TensorBoard's HPARAMS tab."""
    chosen = OmegaConf.to_container(cfg, resolve=True)
    params = {key: chosen.get(key) for key in ("model", "loss", "optimizer", "scheduler", "seed")}
    params["data"] = {k: chosen["data"][k] for k in DATA_HPARAMS if k in chosen["data"]}
    params["trainer"] = {k: chosen["trainer"][k] for k in TRAINER_HPARAMS if k in chosen["trainer"]}
    params["params_total"] = module.parameter_count()
    return params
