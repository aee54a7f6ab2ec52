"""Running the commands as a user does: `python -m colorizer.<command>` in the repository."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from colorizer.config import REPO


def run_command(command: str, *args: str, cwd: Path = REPO, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m colorizer.<command> ARGS` to completion, output captured; "benchmarks" runs
    `python -m benchmarks` (the repository's, beside the package)."""
    module = command if command == "benchmarks" else f"colorizer.{command}"
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def start_command(command: str, *args: str) -> subprocess.Popen:
    """`python -m colorizer.<command> ARGS` in the background (stderr kept for the failure message)."""
    return subprocess.Popen(
        [sys.executable, "-m", f"colorizer.{command}", *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_at_step(run: list[str], run_dir: Path, step: int) -> None:
    """Start the training `run` in `run_dir`, pause it at global step `step` and SIGKILL it
    there, as a power cut would (`tests.helpers.drill`, which `benchmarks.resume` runs too)."""
    from tests.helpers.drill import kill_at_step as drill

    drill(run, run_dir, step)
    assert not (run_dir / "metrics.json").exists()


def assert_same_test_metrics(expected_run: Path, actual_run: Path) -> None:
    """Two runs' `metrics.json` agree on every test metric (to 1e-5)."""
    expected = json.loads((expected_run / "metrics.json").read_text())
    actual = json.loads((actual_run / "metrics.json").read_text())
    test_keys = [key for key in expected if key.startswith("test/")]
    assert len(test_keys) > 10
    for key in test_keys:
        assert actual[key] == pytest.approx(expected[key], abs=1e-5), key
