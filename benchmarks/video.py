"""Video section: flicker and accuracy of frame-by-frame and steadied colour on generated clips
with known colour (a pan, a zoom, a cut), and video predict's frames/s against photo predict's
photos/s on the same frames.

The clips are cut from the shared photos (synthetic landscapes without them) by
`tests.helpers.videos`, written near-lossless, so that the truth of every frame is known.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorizer.color import AB_SCALE
from colorizer.color.lab import rgb_to_normalized_lab
from colorizer.color.srgb_table import packed_to_rgbx, srgb_table
from colorizer.data.synthetic import synthetic_landscapes
from colorizer.evaluation.metrics import colorfulness_per_image
from colorizer.inference.checkpoints import TrainedColorizer
from colorizer.video.colorize import VideoColorizer
from colorizer.video.files import VideoOptions
from colorizer.video.flicker import FlickerMeter
from colorizer.video.stabilize import TemporalStabilizer
from tests.helpers.videos import cut, pan, read_frames, write_clip, zoom


def source_photos(count: int, photos: Path | None) -> list[np.ndarray]:
    """`count` RGB photos [h,w,3] uint8 of at least 480x320: the JPEGs of `photos` (portraits
    turned; BSDS500's are 481x321), else synthetic landscapes."""
    shared = sorted(photos.glob("*.jpg"))[:count] if photos is not None and photos.is_dir() else []
    photos = []
    for index in range(count):
        if index < len(shared):
            with Image.open(shared[index]) as opened:
                image = opened.convert("RGB")
            if image.height > image.width:
                image = image.transpose(Image.Transpose.ROTATE_90)
        else:
            landscape = synthetic_landscapes(1, 320, seed=index)[0].permute(1, 2, 0).numpy()
            image = Image.fromarray(landscape).resize((480, 320), Image.Resampling.BICUBIC)
        photos.append(np.asarray(image))
    return photos


def generated_clips(
    workdir: Path, frames: int, photos: Path | None, size: tuple[int, int] = (320, 240)
) -> dict[str, Path]:
    """A pan (2.5 px a frame), a zoom (to 1.5x) and a pan cut to another photo's pan, each
    `frames` long at `size`, written to `workdir`."""
    photos = source_photos(4, photos)
    workdir.mkdir(parents=True, exist_ok=True)
    half = frames // 2
    clips = {
        "pan": pan(photos[0], size, frames, 2.5),
        "zoom": zoom(photos[1], size, frames, 1.5),
        "cut": cut(pan(photos[2], size, half, 2.5), pan(photos[3], size, frames - half, 2.5)),
    }
    return {name: write_clip(workdir / f"{name}.mp4", clip) for name, clip in clips.items()}


def ab_of(rgb: np.ndarray) -> np.ndarray:
    """ab [H,W,2] float32 in Lab units of RGB [H,W,3] uint8."""
    _, ab = rgb_to_normalized_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)
    return np.ascontiguousarray((ab[0] * AB_SCALE).permute(1, 2, 0).numpy())


def psnr(prediction: np.ndarray, truth: np.ndarray) -> float:
    mse = float(np.mean((prediction.astype(np.float32) - truth.astype(np.float32)) ** 2))
    return 10 * np.log10(255**2 / max(mse, 1e-10))


def colorfulness(rgb: np.ndarray) -> float:
    """`colorizer.evaluation.metrics.colorfulness_per_image` of one RGB frame [H,W,3] uint8."""
    return float(colorfulness_per_image(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)[0])


def score_clip(
    colorizer: VideoColorizer,
    clip: Path,
    variants: dict[str, Callable[[], TemporalStabilizer | None]],
    still: dict[str, np.ndarray] | None = None,
    max_frames: int | None = None,
) -> dict[str, dict[str, float]]:
    """Per variant (a stabiliser factory, None: frame by frame) and for gray and the truth: flicker
    (mean warp error of ab, Lab units), and per-frame psnr_gain over gray and colourfulness ratio.
    `still`, if given, receives each variant's and the truth's middle frame; `max_frames` scores
    only the clip's first frames."""
    truth = read_frames(clip)[:max_frames]
    stabilizers = {name: make() for name, make in variants.items()}
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in ["gray", *variants]}
    levels = []
    for start in range(0, len(truth), colorizer.batch_size):
        predicted = colorizer.predict_frames(truth[start : start + colorizer.batch_size])  # once for every variant
        levels += [frame.level for frame in predicted]
        no_colour = [replace(frame, ab_small=torch.zeros(1, 2, 1, 1)) for frame in predicted]
        for name, stabilizer in [("gray", None), *stabilizers.items()]:
            packed = colorizer.finish(no_colour if name == "gray" else predicted, stabilizer)
            outputs[name] += [packed_to_rgbx(frame)[..., :3].copy() for frame in packed]
    gray = outputs.pop("gray")
    meter = FlickerMeter()
    for index, rgb in enumerate(truth):
        colourings = {name: ab_of(frames[index]) for name, frames in outputs.items()}
        meter.update(levels[index].numpy(), {"truth": ab_of(rgb), **colourings})
    flicker = meter.mean()
    if still is not None:
        middle = len(truth) // 2
        still.update({name: frames[middle] for name, frames in outputs.items()} | {"truth": truth[middle]})
    gray_psnr = [psnr(g, t) for g, t in zip(gray, truth, strict=True)]
    true_colour = statistics.mean(colorfulness(rgb) for rgb in truth)
    scores = {"truth": {"flicker": flicker["truth"]}}
    for name, frames in outputs.items():
        gains = [psnr(f, t) - g for f, t, g in zip(frames, truth, gray_psnr, strict=True)]
        scores[name] = {
            "flicker": flicker[name],
            "psnr_gain": statistics.mean(gains),
            "colorfulness_ratio": statistics.mean(colorfulness(f) for f in frames) / true_colour,
        }
    return scores


def still_panel(still: dict[str, np.ndarray]) -> Image.Image:
    """The frames of `still` side by side, in its order (e.g. frame by frame | stabilised | truth)."""
    return Image.fromarray(np.concatenate(list(still.values()), axis=1))


def bench_video(workdir: Path, frames: int, device: torch.device, photos: Path | None, runs: int = 3) -> dict:
    """Flicker and accuracy per clip (cut from `photos`) for frame by frame and the flow
    stabiliser, and frames/s, with the model shipped in the package."""
    from colorizer.inference import load_colorizer
    from colorizer.weights import shipped_model

    model = load_colorizer(shipped_model(), device)
    table = srgb_table().to(device)
    clips = generated_clips(workdir / "clips", frames, photos)
    colorizer = VideoColorizer(model, device, table, VideoOptions(stabilize="none"))
    variants = {
        "frame by frame": lambda: None,
        "stabilised": lambda: TemporalStabilizer(VideoOptions().strength),
    }
    quality = {name: score_clip(colorizer, clip, variants) for name, clip in clips.items()}
    speed = bench_speed(model, clips["pan"], workdir, device, runs)
    return {"frames": frames, "size": "320x240", "quality": quality, "speed": speed}


def bench_speed(model: TrainedColorizer, clip: Path, workdir: Path, device: torch.device, runs: int) -> dict:
    """Video predict's frames/s (frame by frame and stabilised) and photo predict's photos/s on
    the same frames as JPEG files, interleaved, medians of `runs`."""
    from colorizer.inference.outputs import Job, PredictSummary
    from colorizer.inference.pipeline import PredictPipeline

    truth = read_frames(clip)
    photos = workdir / "frames"
    photos.mkdir(parents=True, exist_ok=True)
    for index, rgb in enumerate(truth):
        Image.fromarray(rgb).save(photos / f"{index:05d}.jpg", quality=95)
    times: dict[str, list[float]] = {"photos": [], "video (none)": [], "video (flow)": []}
    for run in range(runs):
        start = time.perf_counter()
        jobs = [Job(p, workdir / "photo_out" / p.name, Path(p.name)) for p in sorted(photos.glob("*.jpg"))]
        PredictPipeline(model, device).run(jobs, PredictSummary())
        times["photos"].append(len(truth) / (time.perf_counter() - start))
        for stabilize in ("none", "flow"):
            colorizer = VideoColorizer(model, device, srgb_table().to(device), VideoOptions(stabilize=stabilize))
            result = colorizer.run(clip, workdir / f"video_{stabilize}_{run}.mp4")
            times[f"video ({stabilize})"].append(result.frames_per_second())
    return {name: statistics.median(values) for name, values in times.items()}


def format_video(v: dict) -> list[str]:
    lines = [
        f"Video, generated clips of {v['frames']} frames at {v['size']} (the shipped model): flicker = warp error "
        "of ab (Lab units), psnr_gain over gray per frame, colourfulness ratio"
    ]
    for clip, rows in v["quality"].items():
        baseline = rows["frame by frame"]["flicker"]
        lines.append(f"  {clip:<5} truth flicker {rows['truth']['flicker']:.3f}")
        for name, row in rows.items():
            if name != "truth":
                lines.append(
                    f"        {name:<15} flicker {row['flicker']:.3f} ({row['flicker'] / baseline:.2f}x)  "
                    f"psnr_gain {row['psnr_gain']:+.3f}  colourfulness {row['colorfulness_ratio']:.2f}"
                )
    speed = v["speed"]
    lines.append(
        f"  speed: photos {speed['photos']:.1f}/s; video frame by frame {speed['video (none)']:.1f} frames/s "
        f"({speed['video (none)'] / speed['photos']:.2f}x), stabilised {speed['video (flow)']:.1f} frames/s "
        f"({speed['video (flow)'] / speed['photos']:.2f}x)"
    )
    return lines
