"""Checkpoints that survive a kill, reading them with a clear error, and resuming from the newest good one.

Lightning 2.6 already writes a checkpoint through an fsspec transaction (a temporary file, then
a move), but buffers the whole checkpoint in memory first and never fsyncs, so after a power cut
a "saved" checkpoint can be empty; `AtomicCheckpointIO` streams to a temporary file beside the
target, fsyncs it, then renames. Lightning does not save the global RNG states, which an exact
resume needs: `RNGStateCheckpoint` does.
"""

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch import Callback

from colorizer.atomic import atomic_write
from colorizer.inference.checkpoints import CheckpointError, read_checkpoint

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save to `.name.tmp` beside the target, fsync, then rename: a checkpoint is whole or absent."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        atomic_write(path, lambda handle: torch.save(checkpoint, handle))


class RNGStateCheckpoint(Callback):
    """Saves and restores the Python, NumPy and torch (CPU and CUDA) random states, so a resumed
    run shuffles, flips and samples exactly as the uninterrupted run would have."""

    # Stored as tensors and plain Python values only, so Lightning's weights_only loading accepts them.
    def state_dict(self) -> dict[str, Any]:
        name, keys, position, has_gauss, cached = np.random.get_state()
        numpy_state = {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": position,
            "has_gauss": has_gauss,
            "cached": cached,
        }
        state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        random.setstate(state_dict["python"])
        numpy_state = state_dict["numpy"]
        np.random.set_state(
            (
                numpy_state["name"],
                numpy_state["keys"].numpy().astype(np.uint32),
                numpy_state["pos"],
                numpy_state["has_gauss"],
                numpy_state["cached"],
            )
        )
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


def is_readable_checkpoint(path: Path) -> bool:
    try:
        read_checkpoint(path)
    except CheckpointError:
        return False
    return True


def resolve_resume(checkpoint_dir: Path, requested: str | None) -> str | None:
    """The checkpoint to resume from: `requested` (a file, or "last"), or, when that file is
    damaged, the newest readable checkpoint in `checkpoint_dir`, with a warning naming both."""
    if requested is None:
        return None
    path = checkpoint_dir / "last.ckpt" if requested == "last" else Path(requested).expanduser()
    if requested == "last" and not path.exists():
        log.warning("No %s to resume from: starting this run from scratch.", path)
        return None
    if not path.exists():
        raise FileNotFoundError(f"ckpt_path={requested} does not exist.")
    if is_readable_checkpoint(path):
        return str(path)
    others = sorted((p for p in path.parent.glob("*.ckpt") if p != path), key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in others:
        if is_readable_checkpoint(candidate):
            log.warning("Checkpoint %s is damaged (cut short?); resuming from %s instead.", path, candidate)
            return str(candidate)
    raise ValueError(f"Checkpoint {path} is damaged and no other readable checkpoint is in {path.parent}.")


def load_net_weights(net: torch.nn.Module, path: str | Path) -> None:
    """`init_from=<checkpoint>`: the net's weights from another run's checkpoint, and nothing else
    (unlike a resume: the optimiser, schedule, epoch and RNG start fresh). A checkpoint of a
    different net is refused with the parameters that do not match, by name and shape."""
    state = {k.removeprefix("net."): v for k, v in read_checkpoint(path)["state_dict"].items() if k.startswith("net.")}
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    reshaped = [
        f"{k} {tuple(state[k].shape)} -> {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = [
        (f"{len(missing)} missing", missing),
        (f"{len(unexpected)} not in this net", unexpected),
        (f"{len(reshaped)} of another shape", reshaped),
    ]
    said = [f"{label} (e.g. {', '.join(names[:3])})" for label, names in problems if names]
    if said:
        raise CheckpointError(
            f"init_from={path} holds the weights of another net: {'; '.join(said)}. "
            "Use a checkpoint of the same model settings, or leave init_from=null."
        )
    net.load_state_dict(state)
    log.info(
        "Initialised the net's %d tensors from %s (weights only: optimiser and epoch start fresh).", len(state), path
    )
