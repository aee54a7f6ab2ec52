"""Time to quality: how long from launching `python -m colorizer.train` until the model beats
the gray baseline by each target, for today's default and for the fast preset on landscapes, and
for the general-photo preset (pretrained encoder) on general photos.

Both setups run the real command, one after the other on the same split with a warm decode
cache, with a `QualityTimer` callback that records the wall time, step and `val/psnr_gain` at
every validation. A run stops at the validation that reaches the last target (or at its own
epoch budget), then tests its best checkpoint as usual, so the test figures are the same run's.
"""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import REPO, build_datamodule

# What a new user runs today (U-Net + SSIM, Adam 1e-3, validation once per epoch), and the preset.
SETUPS: dict[str, list[str]] = {
    "reference": [],
    "fast": ["experiment=landscape_fast"],
}
# The general-photo row: its own data (general_data), after the landscape setups.
GENERAL_SETUP = ["experiment=general_fast"]
TEST_KEYS = ("psnr", "gray_psnr", "psnr_gain", "ssim", "gray_ssim", "rmse_ab", "gray_rmse_ab", "colorfulness")


def warm_cache(overrides: list[str]) -> None:
    """Decode the images into the cache the runs will read, so neither run pays for it."""
    build_datamodule(overrides).prepare_data()


def launch(overrides: list[str], targets: list[float], run_dir: Path) -> dict[str, Any]:
    """Run `python -m colorizer.train` with `overrides` until the last target; its quality
    timeline, step time and test metrics."""
    report = run_dir / "quality.json"
    command = [
        sys.executable,
        "-m",
        "colorizer.train",
        *overrides,
        f"hydra.run.dir={run_dir}",
        "trainer.enable_progress_bar=false",
        "+callbacks.quality._target_=benchmarks.quality_timer.QualityTimer",
        f"+callbacks.quality.targets=[{','.join(str(t) for t in targets)}]",
        "+callbacks.quality.stop_at_last=true",
        f"+callbacks.quality.report={report}",
        f"+callbacks.quality.launched_at={time.time()}",
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    wall_s = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(overrides)} failed:\n{result.stderr[-3000:]}")
    quality = json.loads(report.read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    return {
        "overrides": overrides,
        "batch_size": config["data"]["batch_size"],
        "reached": {
            target: {"wall_s": point["wall_s"], "steps": point["step"]} for target, point in quality["reached"].items()
        },
        "median_step_s": quality["median_step_s"],
        "steps": quality["history"][-1]["step"] if quality["history"] else 0,
        "validations": [(round(p["wall_s"], 1), p["step"], round(p["value"], 3)) for p in quality["history"]],
        "test": {key: metrics[f"test/{key}"] for key in TEST_KEYS if f"test/{key}" in metrics},
        "wall_s": wall_s,
    }


def bench_time_to_quality(
    data_overrides: list[str],
    targets: list[float],
    workdir: Path,
    setups: dict[str, list[str]] = SETUPS,
    general_data: list[str] | None = None,
) -> dict[str, Any]:
    """Each setup of `setups` (reference first) on the data of `data_overrides`, back to back;
    then, with `general_data`, the general-photo preset on that data."""
    planned = [(name, [*extra, *data_overrides]) for name, extra in setups.items()]
    if general_data is not None:
        planned.append(("general", [*GENERAL_SETUP, *general_data]))
    runs = {}
    for name, overrides in planned:
        warm_cache(overrides)
        runs[name] = launch(overrides, targets, workdir / f"time_to_quality_{name}")
    return {"targets": targets, "order": "back to back, reference first, general last", "runs": runs}


def format_time_to_quality(figures: dict[str, Any]) -> list[str]:
    targets = figures["targets"]
    lines = [
        f"Time to quality: wall time from launch until val/psnr_gain first reaches "
        f"{' / '.join(f'{t:+.1f}' for t in targets)} dB ({figures['order']}, warm cache)"
    ]
    for name, run in figures["runs"].items():
        reached = []
        for target in targets:
            point = run["reached"].get(str(float(target)))
            reached.append(
                f"{target:+.1f} dB at {point['wall_s']:.0f} s ({point['steps']} steps)"
                if point
                else f"{target:+.1f} dB not reached"
            )
        test, step_ms = run["test"], run["median_step_s"] * 1000
        lines.append(
            f"  {name:<10} {', '.join(reached)}; step (batch {run['batch_size']}) {step_ms:.0f} ms; "
            f"test psnr_gain {test.get('psnr_gain', float('nan')):+.2f} dB, ssim {test.get('ssim', float('nan')):.4f} "
            f"(gray {test.get('gray_ssim', float('nan')):.4f}), rmse_ab {test.get('rmse_ab', float('nan')):.2f}; "
            f"{run['steps']} steps, run {run['wall_s']:.0f} s"
        )
    reference, fast = figures["runs"].get("reference"), figures["runs"].get("fast")
    if reference and fast:
        parts = [
            f"step time {fast['median_step_s'] / reference['median_step_s']:.2f}x",
            f"whole run {fast['wall_s'] / reference['wall_s']:.2f}x",
        ]
        for target in targets:
            key = str(float(target))
            if key in reference["reached"] and key in fast["reached"]:
                ours, theirs = fast["reached"][key], reference["reached"][key]
                parts.append(
                    f"{target:+.1f} dB {theirs['wall_s'] / ours['wall_s']:.1f}x sooner "
                    f"in {ours['steps'] / max(theirs['steps'], 1):.2f}x the steps"
                )
        lines.append("  fast vs reference: " + "; ".join(parts))
    return lines
