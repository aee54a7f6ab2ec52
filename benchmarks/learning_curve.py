"""`python -m benchmarks.learning_curve --out plot.png --point 751 <evaluate metrics.json> <row> ...`:
a learning curve drawn from evaluate's results, one point per training-set size (docs/results.md)."""

import argparse
import json
from pathlib import Path

from colorizer.evaluation.plots import plot_learning_curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--title", default="")
    parser.add_argument(
        "--point",
        nargs=3,
        action="append",
        metavar=("PHOTOS", "METRICS_JSON", "ROW"),
        required=True,
        help="training photos, an evaluate metrics.json, and the row in it (repeatable)",
    )
    args = parser.parse_args()
    points = []
    for photos, metrics, row in args.point:
        scores = json.loads(Path(metrics).read_text())["models"][row]
        points.append({"photos": int(photos), **scores})
        print(
            f"{int(photos):>7,} photos: psnr_gain {scores['psnr_gain']:+.3f}, ratio {scores['colorfulness_ratio']:.3f}"
        )
    plot_learning_curve(points, args.out, args.title)


if __name__ == "__main__":
    main()
