"""`python -m colorizer.summarize <multirun folder>`: one table of a sweep's jobs.

Each job folder (Hydra's `<sweep>/<job number>/`) holds `.hydra/overrides.yaml`, and
`metrics.json` when it finished or `error.txt` when it failed. Writes summary.md, summary.csv
and summary.png (the optimised metric against each swept parameter) into the sweep folder.
"""

import argparse
import csv
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf import OmegaConf

# Overrides that only repeat a run (K-fold or seeds): a sweep over these alone is summarised as mean ± std.
REPEAT_KEYS = {"data.fold", "seed", "data.split_seed", "data.seed", "data.source.seed"}
# Metrics where lower is better; everything else is maximised.
LOWER_IS_BETTER = ("loss", "rmse", "delta_e", "mae", "jsd")
SHOWN_METRICS = (
    "test/psnr",
    "test/ssim",
    "test/rmse_ab",
    "test/delta_e",
    "test/psnr_gain",
    "test/gray_psnr",
    "test/colorfulness_ratio",
    "test/ab_jsd",
)


@dataclass
class JobResult:
    name: str
    overrides: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def read_jobs(sweep_dir: Path) -> list[JobResult]:
    """Every job folder of a sweep, finished or failed, in job-number order."""
    jobs = []
    folders = [p for p in sweep_dir.iterdir() if (p / ".hydra" / "overrides.yaml").is_file()]
    for folder in sorted(folders, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else p.name)):
        lines = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text()) or []
        overrides = dict(line.lstrip("+~").split("=", 1) for line in lines if "=" in line)
        job = JobResult(name=folder.name, overrides=overrides)
        if (folder / "metrics.json").is_file():
            values = json.loads((folder / "metrics.json").read_text())
            job.metrics = {k: v for k, v in values.items() if isinstance(v, int | float)}
        else:
            error_file = folder / "error.txt"
            first_line = error_file.read_text().splitlines()[0] if error_file.is_file() else ""
            job.error = first_line or "no metrics.json (still running or killed)"
        jobs.append(job)
    if not jobs:
        raise FileNotFoundError(f"No job folders (with .hydra/overrides.yaml) under {sweep_dir}.")
    return jobs


def optimized_metric(sweep_dir: Path, jobs: list[JobResult]) -> str:
    """The sweep's `optimized_metric`, from the first job's saved config (`monitor` for runs from
    before it had one)."""
    config = OmegaConf.load(sweep_dir / jobs[0].name / ".hydra" / "config.yaml")  # saved unresolved: ${monitor}
    return OmegaConf.select(config, "optimized_metric") or OmegaConf.select(config, "monitor")


def swept_keys(jobs: list[JobResult]) -> list[str]:
    """Override keys whose values differ between jobs."""
    keys = sorted({key for job in jobs for key in job.overrides})
    return [key for key in keys if len({job.overrides.get(key) for job in jobs}) > 1]


def _fmt(value: float | None) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def summarize(sweep_dir: str | Path) -> str:
    """Write summary.md / summary.csv / summary.png into the sweep folder and return the markdown."""
    sweep_dir = Path(sweep_dir)
    jobs = read_jobs(sweep_dir)
    metric = optimized_metric(sweep_dir, jobs)
    keys = swept_keys(jobs)
    columns = list(dict.fromkeys([metric, *SHOWN_METRICS]))
    descending = not any(word in metric for word in LOWER_IS_BETTER)

    def sort_key(job: JobResult) -> float:
        value = job.metrics.get(metric, math.nan)
        return math.inf if math.isnan(value) else (-value if descending else value)

    ranked = sorted(jobs, key=sort_key)
    header = ["job", "status", *keys, *columns]
    rows = [
        [job.name, "ok" if job.error is None else f"failed: {job.error}"]
        + [job.overrides.get(key, "") for key in keys]
        + [_fmt(job.metrics.get(column)) for column in columns]
        for job in ranked
    ]
    finished = [job for job in jobs if job.error is None]
    if keys and set(keys) <= REPEAT_KEYS and len(finished) > 1:
        aggregate = ["mean ± std", f"{len(finished)} of {len(jobs)} jobs", *(["(all)"] * len(keys))]
        for column in columns:
            values = [job.metrics[column] for job in finished if column in job.metrics]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            aggregate.append(f"{statistics.mean(values):.4f} ± {spread:.4f}" if values else "")
        rows.append(aggregate)

    lines = [
        f"Sweep {sweep_dir}: {len(jobs)} jobs, sorted by {metric} ({'higher' if descending else 'lower'} is better)",
        "",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    markdown = "\n".join(lines) + "\n"
    (sweep_dir / "summary.md").write_text(markdown)
    with (sweep_dir / "summary.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    plot_sweep(finished, [k for k in keys if k not in REPEAT_KEYS] or keys, metric, sweep_dir / "summary.png")
    return markdown


def plot_sweep(jobs: list[JobResult], keys: list[str], metric: str, path: Path) -> None:
    """One panel per swept parameter: the metric of each finished job against its value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = keys or ["job"]
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), squeeze=False)
    for axis, key in zip(axes[0], panels, strict=True):
        points = [(job.name if key == "job" else job.overrides.get(key, ""), job.metrics.get(metric)) for job in jobs]
        points = [(x, y) for x, y in points if y is not None and not math.isnan(y)]
        try:
            xs = [float(x) for x, _ in points]
            axis.scatter(xs, [y for _, y in points])
            if len(set(xs)) > 1 and max(xs) / max(min(xs), 1e-12) > 50 and min(xs) > 0:
                axis.set_xscale("log")
        except ValueError:
            labels = sorted({x for x, _ in points})
            axis.scatter([labels.index(x) for x, _ in points], [y for _, y in points])
            axis.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        axis.set_xlabel(key)
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description="Summarise a Hydra multirun folder of colorizer.train jobs.")
    parser.add_argument("sweep_dir", type=Path, help="the multirun folder, e.g. outputs/train/multiruns/<time>")
    args = parser.parse_args()
    print(summarize(args.sweep_dir), end="")
    print(f"Also written: {args.sweep_dir / 'summary.csv'}, {args.sweep_dir / 'summary.png'}")


if __name__ == "__main__":
    main()
