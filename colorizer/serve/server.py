"""Building the LitServer of `colorizer.serve` from its config."""

import os
from pathlib import Path
from typing import Any

import litserve as ls
from omegaconf import DictConfig

from colorizer.device import resolve_device
from colorizer.inference import TrainedColorizer, checkpoint_paths, load_colorizers
from colorizer.models.heads import temperature_of
from colorizer.serve.endpoint import ColorizeSpec, Limits
from colorizer.serve.network import ColorizerAPI
from colorizer.serve.requests import ModelCard


def model_card(label: str, model: TrainedColorizer) -> ModelCard:
    return ModelCard(label, model.image_size, bool(model.net.hints), temperature_of(model.net))


def model_summary(card: ModelCard, model: TrainedColorizer) -> dict[str, Any]:
    """What `GET /info` tells of one model."""
    config = model.config
    losses = {name: term.get("_target_") for name, term in (config.get("loss") or {}).items() if isinstance(term, dict)}
    return {
        "label": card.label,
        "checkpoint": str(model.path),
        "net": config["model"].get("_target_"),
        "image_size": card.image_size,
        "hints": card.takes_hints,
        "head": "regression" if card.temperature is None else "classification",
        "temperature": card.temperature,
        "loss": losses,
        "max_epochs": (config.get("trainer") or {}).get("max_epochs"),
    }


def worker_threads(threads: int | str, workers: int, accelerator: str) -> int:
    """Torch threads per inference worker: `threads`, or for auto half the CPU's cores shared
    among the workers (at least one): on a CPU the network is only part of a request's work, and
    the API server's threads decode, colour and encode beside it on the same cores. On 2 cores a
    worker on both of them answers fewer requests than one on a single core, batched or not
    (docs/using-a-model.md). On a GPU the worker's CPU threads only stack inputs: one is enough."""
    if str(threads) == "auto":
        return 1 if accelerator == "cuda" else max(1, (os.cpu_count() or 1) // (2 * workers))
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads={threads} is neither auto nor a positive number of threads.")
    return threads


def build_server(cfg: DictConfig) -> ls.LitServer:
    """The server for `cfg` (conf/serve.yaml). Every checkpoint is loaded here once, so a missing
    or broken one is a CheckpointError before any worker starts; the workers load them again."""
    models = load_colorizers(checkpoint_paths(cfg.ckpt_path, cfg.ckpt_paths), "cpu")
    cards = {label: model_card(label, model) for label, model in models.items()}
    limits = Limits(int(cfg.max_bytes), int(cfg.max_pixels), int(cfg.hint_side), int(cfg.jpeg_quality))
    spec = ColorizeSpec(cards, limits, Path(cfg.paths.cache_dir).expanduser())
    spec.table()  # read or built now, not on the first request
    accelerator = resolve_device(cfg.device).type
    threads = worker_threads(cfg.threads, int(cfg.workers), accelerator)
    api = ColorizerAPI(
        {label: str(model.path) for label, model in models.items()},
        str(cfg.precision),
        threads,
        max_batch_size=int(cfg.max_batch_size),
        batch_timeout=float(cfg.batch_timeout),
        spec=spec,
    )
    serving = {
        "device": accelerator,
        "workers": int(cfg.workers),
        "threads": threads,
        "max_batch_size": int(cfg.max_batch_size),
        "batch_timeout": float(cfg.batch_timeout),
    }
    metadata = {"models": [model_summary(cards[label], model) for label, model in models.items()], "serving": serving}
    return ls.LitServer(
        api,
        accelerator=accelerator,
        devices=cfg.devices,
        workers_per_device=int(cfg.workers),
        timeout=float(cfg.timeout),
        model_metadata=metadata,
        fast_queue=bool(cfg.fast_queue),
    )
