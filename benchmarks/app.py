"""App section: how long the page takes to answer for a 768x512 photo, served on loopback and
called through Gradio's own client (upload, colorize, score, encode and fetch the results),
against the same work without the web server. The net is the default U-Net with its initial
weights: what it predicts does not change the time."""

import statistics
import time
from pathlib import Path

import torch
from hydra.utils import instantiate

from benchmarks.common import compose_train_config
from benchmarks.prediction import prediction_photos
from colorizer.models.heads import DEFAULT_TEMPERATURE


def default_colorizer(device: torch.device):
    """The page's worker around the default training config's net."""
    from colorizer.app.session import PhotoColorizer
    from colorizer.inference import TrainedColorizer

    cfg = compose_train_config([])
    net = instantiate(cfg.model).to(device).eval()
    model = TrainedColorizer(net, {}, int(cfg.data.image_size), torch.zeros(2), Path("default-unet"))
    return PhotoColorizer({"default U-Net": model}, device)


def bench_app(count: int, workdir: Path, device: torch.device, photos: Path | None) -> dict:
    """Median seconds per request for `count` 768x512 photos: through the served page, and the
    same colorizing and scoring called directly. Each photo is sent once after a warm-up."""
    from gradio_client import Client, handle_file

    from colorizer.app.page import build_page

    photos = prediction_photos(count + 1, workdir / "app_in", photos)
    colorizer = default_colorizer(device)
    direct = [colorizer.colorize_file(photo).seconds for photo in photos]
    page = build_page(colorizer, [])
    _, url, _ = page.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)  # Gradio picks a free port
    try:
        client = Client(url, verbose=False, download_files=str(workdir / "app_out"))
        served = []
        for photo in photos:
            started = time.perf_counter()
            status = client.predict(handle_file(str(photo)), DEFAULT_TEMPERATURE, api_name="/colorize")[0]
            served.append(time.perf_counter() - started)
            if "colorized and scored" not in status:
                raise RuntimeError(f"The page answered {status!r} for {photo}")
    finally:
        page.close()
    return {
        "photos": count,
        "size": "768x512",
        "served_s": statistics.median(served[1:]),
        "direct_s": statistics.median(direct[1:]),
        "served_max_s": max(served[1:]),
    }


def format_app(figures: dict) -> list[str]:
    return [
        f"App: one {figures['size']} photo through the served page (upload, colorize, score, fetch the results): "
        f"median {figures['served_s']:.2f} s, max {figures['served_max_s']:.2f} s over {figures['photos']} photos; "
        f"the same colorizing and scoring without the server: {figures['direct_s']:.2f} s",
        "",
    ]
