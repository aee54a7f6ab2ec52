"""The kill-and-resume drill that the resume tests and `benchmarks.resume` share: a short training
run, started as a user starts it, paused at a step (`PauseAtStep`) and SIGKILLed there as a power
cut would."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from colorizer.config import REPO

# The resume tests' run: 41 training images in batches of 8 (6 steps an epoch), 4 epochs.
DRILL_RUN = [
    "data.source.num_images=64",
    "data.image_size=32",
    "data.batch_size=8",
    "trainer.max_epochs=4",
    "trainer.deterministic=true",
    "model=cae",
    "loss=mse",
    "trainer.enable_progress_bar=false",
]
KILL_AT_STEP = 9


def train_command(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "colorizer.train", *overrides]


def drill_environment() -> dict[str, str]:
    # cuBLAS is deterministic only with a fixed workspace (trainer.deterministic=true asks for it).
    return {**os.environ, "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}


def run_to_end(overrides: list[str]) -> None:
    result = subprocess.run(
        train_command(*overrides), cwd=REPO, capture_output=True, text=True, timeout=600, env=drill_environment()
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(overrides)} failed:\n{result.stderr[-2000:]}")


def kill_at_step(overrides: list[str], run_dir: Path, step: int) -> None:
    """Start the run, wait until it pauses at `step` (`PauseAtStep`), SIGKILL it there."""
    marker = run_dir.parent / f"{run_dir.name}.paused"
    pause = [
        "+callbacks.pause._target_=tests.helpers.pause_at_step.PauseAtStep",
        f"+callbacks.pause.step={step}",
        f"+callbacks.pause.marker={marker}",
    ]
    command = train_command(*overrides, f"hydra.run.dir={run_dir}", *pause)
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=drill_environment()
    )
    deadline = time.monotonic() + 300
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if not marker.exists():
        process.kill()
        raise RuntimeError(f"the run never reached step {step}: {process.stderr.read()[-2000:]}")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
