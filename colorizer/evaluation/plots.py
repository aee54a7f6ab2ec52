"""The figures beside an evaluation's table: quality against colour, and against the number of hints."""

import re
from pathlib import Path

HINTS_PLOT = "hints.png"
# A row scored with hints: "<label>@hints=<N>".
HINT_ROW = re.compile(r"^(?P<label>.+)@hints=(?P<count>\d+)$")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_tradeoff(summary: dict[str, dict[str, float]], path: Path) -> Path:
    """tradeoff.png: psnr_gain (right on average) against colorfulness_ratio (vivid), a labelled
    point per model. The two pull apart: averaging colours scores psnr and loses colour."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    for name, values in summary.items():
        x, y = values["colorfulness_ratio"], values["psnr_gain"]
        axis.scatter([x], [y])
        axis.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axis.axhline(0, color="grey", lw=0.8)
    axis.axvline(1, color="grey", lw=0.8, ls=":")
    axis.set_xlabel("colorfulness_ratio (prediction / truth; 1 = as vivid as the truth)")
    axis.set_ylabel("psnr_gain over gray (dB)")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def hint_curves(summary: dict[str, dict[str, float]]) -> dict[str, list[tuple[int, float]]]:
    """For each label scored at two or more hint counts: (count, psnr_gain) by count. A row named
    just the label (the gray baseline's) counts as its point at 0 hints."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for name, values in summary.items():
        match = HINT_ROW.match(name)
        if match:
            curves.setdefault(match["label"], []).append((int(match["count"]), values["psnr_gain"]))
    for label, points in curves.items():
        if label in summary and all(count for count, _ in points):
            points.append((0, summary[label]["psnr_gain"]))
    return {label: sorted(points) for label, points in curves.items() if len(points) > 1}


def plot_hint_curves(summary: dict[str, dict[str, float]], path: Path) -> Path:
    """hints.png: psnr_gain against the number of hints per image, a line per model (Zhang et
    al. 2017, figure 6); the gray baseline's line only pastes the hints."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    curves = hint_curves(summary)
    for label, points in curves.items():
        counts, gains = zip(*points, strict=True)
        axis.plot(counts, gains, marker="o", label=label, ls="--" if label == "gray" else "-")
    axis.set_xscale("symlog", linthresh=1)
    ticks = sorted({count for points in curves.values() for count, _ in points})
    axis.set_xticks(ticks, [str(t) for t in ticks])
    axis.axhline(0, color="grey", lw=0.8)
    axis.set_xlabel("hints per image (true colours of random patches)")
    axis.set_ylabel("psnr_gain over gray (dB)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_learning_curve(points: list[dict[str, float]], path: Path, title: str = "") -> Path:
    """psnr_gain and colorfulness_ratio against the number of training photos (log scale), one
    point per run, each labelled with its FID when it has one. `points`: dicts with `photos`,
    `psnr_gain`, `colorfulness_ratio` and optionally a `fid_*` value."""
    plt = _pyplot()
    points = sorted(points, key=lambda point: point["photos"])
    photos = [point["photos"] for point in points]
    figure, gain_axis = plt.subplots(figsize=(6.4, 4.0))
    gain_axis.plot(photos, [p["psnr_gain"] for p in points], "o-", color="tab:blue", label="psnr_gain (dB)")
    gain_axis.set_xscale("log")
    gain_axis.set_xlabel("training photos (log scale)")
    gain_axis.set_ylabel("psnr_gain over gray (dB)", color="tab:blue")
    for point in points:
        fid = next((value for key, value in point.items() if key.startswith("fid")), None)
        if fid is not None:
            gain_axis.annotate(
                f"FID {fid:.1f}",
                (point["photos"], point["psnr_gain"]),
                textcoords="offset points",
                xytext=(4, -12),
                fontsize=7,
            )
    ratio_axis = gain_axis.twinx()
    ratio_axis.plot(photos, [p["colorfulness_ratio"] for p in points], "s--", color="tab:orange")
    ratio_axis.set_ylabel("colorfulness_ratio", color="tab:orange")
    gain_axis.set_xticks(photos, [f"{count:,}" for count in photos])
    gain_axis.grid(alpha=0.3)
    if title:
        gain_axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
