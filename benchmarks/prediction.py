"""Prediction section: colorizer.predict on 768x512 photos against decoding and encoding them alone."""

import io
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from PIL import Image

from benchmarks.common import compose_train_config
from colorizer.data.synthetic import synthetic_landscapes


def prediction_photos(count: int, folder: Path, photos: Path | None) -> list[Path]:
    """`count` 768x512 JPEGs in `folder`: the JPEGs of `photos` (portraits turned) resized, or
    without them synthetic landscapes with sensor-like noise, so that decoding costs what a photo's does."""
    folder.mkdir(parents=True, exist_ok=True)
    shared = sorted(photos.glob("*.jpg")) if photos is not None and photos.is_dir() else []
    noise = np.random.default_rng(3)
    for index in range(count):
        if shared:
            with Image.open(shared[index % len(shared)]) as opened:
                image = opened.convert("RGB")
            if image.height > image.width:
                image = image.transpose(Image.Transpose.ROTATE_90)
        else:
            image = Image.fromarray(synthetic_landscapes(1, 256, seed=index)[0].permute(1, 2, 0).numpy())
        pixels = np.asarray(image.resize((768, 512), Image.Resampling.BICUBIC)).astype(np.int16)
        if not shared:
            pixels += noise.integers(-6, 7, pixels.shape, dtype=np.int16)
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / f"{index}.jpg", quality=92)
    return sorted(folder.glob("*.jpg"))


# Each net as `python -m colorizer.train model=<name>` builds it, untrained.
PREDICT_MODELS = {"unet": "unet", "cae": "cae", "vae": "vae", "gray (no network)": "gray"}


def bench_prediction(count: int, runs: int, workdir: Path, device: torch.device, photos: Path | None) -> dict:
    """colorizer.predict's images/s on 768x512 photos for each net vs decoding and encoding the
    same files alone, both with one thread per core (what predict's pool uses)."""
    from colorizer.color.srgb_table import srgb_table
    from colorizer.device import use_bf16
    from colorizer.inference import TrainedColorizer
    from colorizer.inference.outputs import Job, PredictSummary
    from colorizer.inference.pipeline import PredictPipeline

    files = prediction_photos(count, workdir / "predict_in", photos)
    start = time.perf_counter()
    srgb_table()  # built once per machine (or read from the user cache); not part of the steady state
    table_s = time.perf_counter() - start
    bf16 = use_bf16("auto", device)
    workers = os.cpu_count() or 1

    def decode_encode(path: Path) -> None:
        with Image.open(path) as image:
            image.convert("RGB").save(io.BytesIO(), format="JPEG", quality=95)

    def floor() -> float:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(decode_encode, files))
        return len(files) / (time.perf_counter() - start)

    def untrained(model: str) -> TrainedColorizer:
        cfg = compose_train_config([f"model={model}"])
        net = instantiate(cfg.model).eval().to(device)
        return TrainedColorizer(net, {}, int(cfg.data.image_size), torch.zeros(2), Path("random-init"))

    def ours(model: TrainedColorizer, output: Path) -> float:
        jobs = [Job(path, output / path.name, Path(path.name)) for path in files]
        start = time.perf_counter()
        PredictPipeline(model, device, batch_size=16, bf16=bf16).run(jobs, PredictSummary())
        return len(files) / (time.perf_counter() - start)

    models = {name: untrained(model) for name, model in PREDICT_MODELS.items()}
    floors: list[float] = []
    predicted: dict[str, list[float]] = {name: [] for name in models}
    for run in range(runs):  # interleaved, so drifts in machine load hit all alike
        floors.append(floor())
        for index, (name, model) in enumerate(models.items()):
            predicted[name].append(ours(model, workdir / f"predict_out_{run}_{index}"))
    floor_img_s = statistics.median(floors)
    result: dict[str, Any] = {
        "photos": f"{photos.name} resized" if photos is not None and photos.is_dir() else "synthetic with noise",
        "decode_encode_floor_img_s": floor_img_s,
        "network_precision": "bf16 autocast" if bf16 else "fp32",
        "colour_table_s": table_s,
        "models": {},
    }
    for name, rates in predicted.items():
        rate = statistics.median(rates)
        result["models"][name] = {"predict_img_s": rate, "ratio": rate / floor_img_s}
    return result


def format_prediction(p: dict[str, Any]) -> list[str]:
    lines = [
        f"Prediction, 768x512 JPEG ({p['photos']}, network in {p['network_precision']}): images/s vs the "
        f"decode+encode floor {p['decode_encode_floor_img_s']:.1f} img/s "
        f"(colour table ready in {p['colour_table_s']:.2f} s)"
    ]
    for name, r in p["models"].items():
        lines.append(f"  {name:<20} {r['predict_img_s']:>8.1f}  ratio {r['ratio']:.2f}")
    return lines
