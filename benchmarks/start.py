"""Start-up section: seconds from launching the train command on a warm cache to its first step."""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, build_datamodule


def bench_cache_start(folder: Path, cache: Path, workdir: Path, runs: int = 3) -> dict:
    """Seconds from launching `python -m colorizer.train` on `folder` with a warm decode cache to
    the start of its first training step (the real command: Hydra, logger, callbacks, sanity
    check), the median of `runs`, and how much of it is importing colorizer.train (torch,
    Lightning, torchmetrics, kornia, Hydra) in a fresh interpreter."""
    report = workdir / "first_step.json"
    data = ["data=folder", f"data.source.root={folder}", f"data.cache_dir={cache}"]
    # Decode now (a no-op after the loader section), so that every launch is a cache hit.
    build_datamodule(data).prepare_data()

    def launch(run: int) -> dict:
        command = [
            sys.executable,
            "-m",
            "colorizer.train",
            *data,
            f"hydra.run.dir={workdir / f'start_run_{run}'}",
            "trainer.max_steps=1",
            "+trainer.limit_val_batches=2",
            "+trainer.limit_test_batches=1",
            "trainer.enable_progress_bar=false",
            "+callbacks.first_step._target_=benchmarks.first_step_timer.FirstStepTimer",
            f"+callbacks.first_step.launched_at={time.time()}",
            f"+callbacks.first_step.report={report}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        if result.returncode != 0:
            raise RuntimeError(f"the training launch failed (exit {result.returncode}): {result.stderr[-1500:]}")
        return json.loads(report.read_text())

    def import_seconds() -> float:
        script = "import time; t = time.perf_counter(); import colorizer.train; print(time.perf_counter() - t)"
        output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
        return float(output.stdout.split()[-1])

    starts = [launch(run)["first_step_start_s"] for run in range(runs)]
    imports = [import_seconds() for _ in range(runs)]
    return {"first_step_start_s": statistics.median(starts), "import_s": statistics.median(imports)}


def format_cache_start(start: dict[str, Any]) -> list[str]:
    return [
        f"Cache hit: `python -m colorizer.train` starts its first step {start['first_step_start_s']:.2f} s after "
        f"launch; importing colorizer.train alone takes {start['import_s']:.2f} s"
    ]
