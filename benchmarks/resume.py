"""The kill-and-resume drill: a short training run uninterrupted, and the same run SIGKILLed in
the middle of its second epoch and resumed; their test metrics must agree."""

import json
import time
from pathlib import Path

import torch

from tests.helpers.drill import DRILL_RUN, KILL_AT_STEP, kill_at_step, run_to_end


def bench_resume(workdir: Path, device: torch.device) -> dict:
    """The drill on `device`: the largest difference between the two runs' test metrics."""
    started = time.perf_counter()
    run = [
        *DRILL_RUN,
        f"trainer.accelerator={'gpu' if device.type == 'cuda' else 'cpu'}",
        f"paths.cache_dir={workdir / 'drill-cache'}",
    ]
    whole, killed = workdir / "drill-whole", workdir / "drill-killed"
    run_to_end([*run, f"hydra.run.dir={whole}"])
    kill_at_step(run, killed, KILL_AT_STEP)
    run_to_end([*run, f"resume={killed}"])
    expected, actual = (json.loads((folder / "metrics.json").read_text()) for folder in (whole, killed))
    keys = [key for key in expected if key.startswith("test/")]
    return {
        "max_test_difference": max(abs(actual[key] - expected[key]) for key in keys),
        "test_metrics": len(keys),
        "killed_at_step": KILL_AT_STEP,
        "seconds": time.perf_counter() - started,
    }
