"""Building the LitServer of `colorizer.serve` from its config."""

import os
import threading
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


class StoppableServerThread:
    """LitServe's API server thread with the `terminate` its shutdown calls: LitServe 0.2 stops API
    server processes but not threads (it logs "'Thread' object has no attribute 'terminate'" and the
    process lives on until uvicorn's own timeout). Here uvicorn is asked to exit, which lets the
    requests in flight finish first."""

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread
        self.uvicorn = thread._target.__self__  # LitServe starts the thread on its uvicorn Server's run
        self.name, self.pid = thread.name, thread.ident  # LitServe logs a non-thread's pid

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def terminate(self) -> None:
        self.uvicorn.should_exit = True

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def kill(self) -> None:
        self.uvicorn.force_exit = True


class ColorizerServer(ls.LitServer):
    """A LitServer that stops whole: `stop()` (from a signal handler) ends `run()`, which then
    stops the API server thread, the inference workers and LitServe's manager, in that order."""

    def _start_server(self, *args: Any, **kwargs: Any) -> dict[int, Any]:
        started = super()._start_server(*args, **kwargs)
        return {key: StoppableServerThread(w) if isinstance(w, threading.Thread) else w for key, w in started.items()}

    def _perform_graceful_shutdown(self, *args: Any, **kwargs: Any) -> None:
        # LitServe's worker monitor polls the manager: let it see the shutdown before the manager goes.
        for thread in threading.enumerate():
            if thread.name == "litserve-monitoring" and thread is not threading.current_thread():
                thread.join(timeout=self.monitor_internal + 1)
        super()._perform_graceful_shutdown(*args, **kwargs)

    def stop(self) -> None:
        """End `run()` from a signal handler: the event is set from a thread of its own, since
        the handler interrupts the main thread inside its wait on that same event's connection."""
        if self._shutdown_event is None:  # not running yet: nothing started to stop
            raise KeyboardInterrupt
        threading.Thread(target=self._shutdown_event.set, name="colorizer-stop").start()


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


def build_server(cfg: DictConfig) -> ColorizerServer:
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
    return ColorizerServer(
        api,
        accelerator=accelerator,
        devices=cfg.devices,
        workers_per_device=int(cfg.workers),
        timeout=float(cfg.timeout),
        model_metadata=metadata,
        fast_queue=bool(cfg.fast_queue),
        # A worker that dies stops the server, exiting 1, for its supervisor to start it again:
        # LitServe 0.2's restart pickles the API anew, which fails once the spec holds asyncio futures.
        restart_workers=False,
    )
