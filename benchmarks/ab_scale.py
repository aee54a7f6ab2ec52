"""`python -m benchmarks.ab_scale [--ckpt <file>] [--size 128] [--photos <folder> ...]`: what a
constant scale of a model's ab buys after training, on the general split's validation and test
photos: psnr_gain and colorfulness ratio per scale, with flip averaging, the least-squares scale,
and the per-photo best scale chosen knowing the truth (an oracle). docs/results.md, "MSE or the
mean PSNR", was measured with it."""

import argparse
from pathlib import Path

import torch
from hydra.utils import instantiate

from benchmarks.common import DEFAULT_GENERAL
from colorizer.color import rebuild_rgb
from colorizer.config import compose_command_config
from colorizer.data.transforms import lab_batch
from colorizer.evaluation.metrics import ColorizationMetrics, image_scores
from colorizer.inference import load_colorizer
from colorizer.weights import shipped_model

# The scales of the table, and those the oracle picks from for each photo.
TABLE_SCALES = (0.9, 1.0, 1.1, 1.2, 1.3, 1.4)
ORACLE_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


@torch.no_grad()
def scale_table(net: torch.nn.Module, loader) -> dict:
    """For each of TABLE_SCALES s, psnr_gain and colorfulness ratio of ab * s as predicted and
    flip-averaged; the least-squares scale; the oracle's psnr_gain (each photo at its best of ORACLE_SCALES)."""
    metrics = {(s, flip): ColorizationMetrics() for s in TABLE_SCALES for flip in (False, True)}
    gray = ColorizationMetrics()
    per_image, dot, square = [], 0.0, 0.0
    for images in loader:
        batch = lab_batch(images)
        L, truth = batch["L"], batch["ab"]
        pred = net(L, None).float()
        flipped = (pred + net(L.flip(-1), None).float().flip(-1)) / 2
        dot, square = dot + float((pred * truth).sum()), square + float((pred * pred).sum())
        gray.update(L, torch.zeros_like(truth), truth)
        true_rgb = rebuild_rgb(L, truth)
        for s in TABLE_SCALES:
            metrics[(s, False)].update(L, (pred * s).clamp(-1, 1), truth)
            metrics[(s, True)].update(L, (flipped * s).clamp(-1, 1), truth)
        scored = [image_scores(rebuild_rgb(L, (pred * s).clamp(-1, 1)), true_rgb)["psnr"] for s in ORACLE_SCALES]
        per_image.append(torch.stack(scored, 1))
    gray_psnr = float(gray.compute()["psnr"])
    rows = {}
    for (s, flip), scored in metrics.items():
        result = scored.compute()
        rows[(s, flip)] = (float(result["psnr"]) - gray_psnr, float(result["colorfulness_ratio"]))
    psnr = torch.cat(per_image)  # [N, len(ORACLE_SCALES)], the first column gray's
    return {
        "rows": rows,
        "least_squares_scale": dot / square,
        "oracle_gain": float(psnr.max(dim=1).values.mean() - psnr[:, 0].mean()),
        "best_scale_counts": torch.bincount(psnr.argmax(dim=1), minlength=len(ORACLE_SCALES)).tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", default=None, help="a checkpoint or traced file (default: the shipped model)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--photos", nargs="+", type=Path, default=DEFAULT_GENERAL)
    args = parser.parse_args()
    torch.set_num_threads(2)
    net = load_colorizer(args.ckpt or shipped_model(), torch.device("cpu")).net.eval()
    roots = ",".join(str(folder) for folder in args.photos)
    cfg = compose_command_config(
        "evaluate", ["data=folder", f"data.source.root=[{roots}]", f"data.image_size={args.size}"]
    )
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    for split in ("val", "test"):
        table = scale_table(net, datamodule.loader(split))
        print(
            f"{split}: least-squares scale {table['least_squares_scale']:.3f}, oracle (each photo at its best "
            f"scale) {table['oracle_gain']:+.3f} dB, photos best at {ORACLE_SCALES}: {table['best_scale_counts']}"
        )
        for (s, flip), (gain, ratio) in table["rows"].items():
            print(
                f"  s={s:<5g} {'flip-averaged' if flip else 'as predicted '} psnr_gain {gain:+.3f}  ratio {ratio:.3f}"
            )


if __name__ == "__main__":
    main()
