"""Serve section: `colorizer.serve` under load on loopback, with dynamic batching on and off side
by side, against `colorizer.predict`'s pipeline on the same photos; then a soak with bad inputs
mixed in. The net is the default U-Net at its initial weights (the time does not depend on them)."""

import asyncio
import io
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from benchmarks.prediction import prediction_photos
from tests.helpers.images import bomb_png_bytes
from tests.helpers.server_process import default_unet_checkpoint, running_server, tree_rss_mb

CORES = os.cpu_count() or 1


def bad_inputs(workdir: Path, photos: Path | None) -> list[tuple[str, bytes, dict[str, str], int]]:
    """(what, body, query, the status it must get): one of each kind the soak mixes in."""
    good = prediction_photos(1, workdir / "serve_bad", photos)[0].read_bytes()
    return [
        ("not an image", b"hello, not a photo", {}, 400),
        ("truncated", good[: len(good) // 3], {}, 400),
        ("decompression bomb", bomb_png_bytes(), {}, 413),
        ("bad format", good, {"format": "gif"}, 422),
        ("bad temperature", good, {"temperature": "hot"}, 422),
    ]


async def send(client: Any, url: str, body: bytes, query: dict[str, str]) -> tuple[Any, float]:
    """(httpx's response, seconds to the whole answer)."""
    start = time.perf_counter()
    response = await client.post(f"{url}/predict", content=body, params=query, headers={"Content-Type": "image/jpeg"})
    return response, time.perf_counter() - start


async def load_level(url: str, bodies: list[bytes], concurrency: int, count: int) -> dict[str, float]:
    """`count` requests of `bodies` in turn, `concurrency` at a time: throughput and latency."""
    import httpx

    latencies: list[float] = []
    network_ms: list[float] = []  # the worker's time per image: its batch's network time / the batch's size
    errors = 0
    queue = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            nonlocal errors
            for index in queue:
                response, seconds = await send(client, url, bodies[index % len(bodies)], {"format": "jpeg"})
                latencies.append(seconds)
                errors += response.status_code != 200
                if response.status_code == 200:
                    batch = int(response.headers["x-colorizer-batch-size"])
                    network_ms.append(float(response.headers["x-colorizer-network-ms"]) / batch)

        start, client_cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, client_cpu = time.perf_counter() - start, time.process_time() - client_cpu
    p50, p95, p99 = (np.percentile(latencies, q) for q in (50, 95, 99))
    # The client shares the cores with the server: its CPU time says how much of them it took.
    return {
        "requests": count,
        "images_per_s": count / elapsed,
        "p50_ms": p50 * 1000,
        "p95_ms": p95 * 1000,
        "p99_ms": p99 * 1000,
        "errors": errors,
        "client_cpu_share": client_cpu / (elapsed * CORES),
        "network_ms_per_image": float(np.mean(network_ms)) if network_ms else None,
    }


def decoded(body: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(body)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


async def soak(url: str, pid: int, photos: list[bytes], bad: list, concurrency: int, seconds: float) -> dict:
    """Good requests (each answer checked against the same photo's answer alone) with every
    tenth request a bad one, for `seconds`: wrong answers, statuses, memory before and after."""
    import httpx

    async with httpx.AsyncClient(timeout=120) as client:
        expected = [decoded((await send(client, url, body, {}))[0].content) for body in photos]
        counts = {"good": 0, "bad": 0, "wrong": 0, "errors": 0}
        number = iter(range(10**9))
        deadline = 0.0

        async def worker() -> None:
            while time.monotonic() < deadline:
                index = next(number)
                if index % 10 == 9:
                    _, body, query, status_wanted = bad[index // 10 % len(bad)]
                    response, _ = await send(client, url, body, query)
                    counts["bad"] += 1
                    counts["errors"] += response.status_code != status_wanted
                    continue
                photo = index % len(photos)
                response, _ = await send(client, url, photos[photo], {})
                counts["good"] += 1
                if response.status_code != 200:
                    counts["errors"] += 1
                elif (
                    np.abs(decoded(response.content) - expected[photo]).max() > 4
                ):  # batch order moves floats, not colours
                    counts["wrong"] += 1

        async def sample_memory() -> None:
            while time.monotonic() < deadline:
                await asyncio.sleep(seconds / 10)
                rss.append(round(tree_rss_mb(pid)))

        # Warm-up: a tenth of the soak under the same load, so the thread pools and the
        # allocator have grown to what that load needs before memory is read.
        deadline = time.monotonic() + seconds / 10
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        counts.update(good=0, bad=0)
        rss = [round(tree_rss_mb(pid))]
        deadline = time.monotonic() + seconds
        await asyncio.gather(sample_memory(), *(worker() for _ in range(concurrency)))
        healthy = (await client.get(f"{url}/health")).status_code == 200
    rss.append(round(tree_rss_mb(pid)))
    return counts | {
        "seconds": seconds,
        "rss_start_mb": rss[0],
        "rss_end_mb": rss[-1],
        "rss_mb": rss,
        "healthy": healthy,
    }


def predict_job(files: list[Path], workdir: Path, device: torch.device) -> float:
    """Images/s of `colorizer.predict`'s pipeline on `files` (after one warm-up pass), JPEG out."""
    from colorizer.inference import load_colorizer
    from colorizer.inference.outputs import Job, PredictSummary
    from colorizer.inference.pipeline import PredictPipeline

    model = load_colorizer(workdir / "serve_unet.ckpt", device)
    pipeline = PredictPipeline(model, device, batch_size=16)
    rates = []
    for run in range(2):
        jobs = [Job(f, workdir / f"predict_out{run}" / f.name, Path(f.name)) for f in files]
        start = time.perf_counter()
        pipeline.run(jobs, PredictSummary())
        rates.append(len(files) / (time.perf_counter() - start))
    return rates[-1]


def serving(url: str) -> dict[str, Any]:
    """How the server at `url` serves (its `GET /info`): device, workers, threads, batching."""
    import httpx

    return httpx.get(f"{url}/info", timeout=30).json()["model"]["serving"]


def bench_serve(
    workdir: Path,
    device: torch.device,
    per_level: int,
    levels: list[int],
    soak_s: float,
    overrides: list[str],
    photos: Path | None = None,
) -> dict:
    """The serve section's figures (see the module's docstring); `overrides` (colorizer.serve
    options) go to both servers."""
    files = prediction_photos(32, workdir / "serve_in", photos)
    bodies = [f.read_bytes() for f in files]
    checkpoint = default_unet_checkpoint(workdir / "serve_unet.ckpt")
    common = [f"ckpt_path={checkpoint}", f"device={device.type}", "batch_timeout=0.01", *overrides]
    figures: dict[str, Any] = {"size": "768x512", "overrides": overrides, "levels": {}}
    # Before the servers start: their idle workers poll their queues, and predict runs alone for a user.
    figures["predict_images_per_s"] = predict_job(files, workdir, device)
    with (
        running_server([*common, "max_batch_size=16"], workdir / "serve_batched" / "log") as (batched, pid),
        running_server([*common, "max_batch_size=1"], workdir / "serve_single" / "log") as (single, _),
    ):
        figures["servers"] = {name: serving(url) for name, url in (("batched", batched), ("unbatched", single))}
        for concurrency in levels:  # both servers at each level in turn, so drift hits both alike
            figures["levels"][str(concurrency)] = {
                name: asyncio.run(load_level(url, bodies, concurrency, per_level))
                for name, url in (("batched", batched), ("unbatched", single))
            }
        figures["soak"] = asyncio.run(soak(batched, pid, bodies[:8], bad_inputs(workdir, photos), 16, soak_s))
    return figures


def format_serve(figures: dict) -> list[str]:
    options = f", with {' '.join(figures['overrides'])}" if figures.get("overrides") else ""
    threads = figures["servers"]["batched"]["threads"]
    lines = [
        f"Serve: {figures['size']} JPEGs, POST /predict on loopback, answers as JPEG (default U-Net{options}; "
        f"{threads} torch thread{'s' if threads > 1 else ''} in the inference worker):"
    ]
    lines.append(
        "| concurrency | batching | images/s | p50 ms | p95 ms | p99 ms | errors | network ms per image "
        "| client's share of the CPU |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for concurrency, modes in figures["levels"].items():
        for name, level in modes.items():
            lines.append(
                f"| {concurrency} | {name} | {level['images_per_s']:.1f} | {level['p50_ms']:.0f} | "
                f"{level['p95_ms']:.0f} | {level['p99_ms']:.0f} | {level['errors']} | "
                f"{level['network_ms_per_image'] or 0:.1f} | {level['client_cpu_share']:.0%} |"
            )
    top = figures["levels"][max(figures["levels"], key=int)]
    predict = figures["predict_images_per_s"]
    lines.append(
        f"colorizer.predict's pipeline on the same photos: {predict:.1f} images/s; at the top concurrency the "
        f"batched server reaches {top['batched']['images_per_s'] / top['unbatched']['images_per_s']:.2f}x "
        f"unbatched and {top['batched']['images_per_s'] / predict:.2f}x predict"
    )
    soak_figures = figures["soak"]
    lines.append(
        f"Soak: {soak_figures['seconds']:.0f} s at concurrency 16, {soak_figures['good']} good and "
        f"{soak_figures['bad']} bad requests: {soak_figures['wrong']} wrong answers, {soak_figures['errors']} "
        f"unexpected statuses; RSS after a warm-up under the same load {soak_figures['rss_start_mb']:.0f} MB, "
        f"every tenth of the soak {soak_figures['rss_mb'][1:-1]}, at the end {soak_figures['rss_end_mb']:.0f} MB; "
        f"/health {'ok' if soak_figures['healthy'] else 'FAILED'}"
    )
    lines.append("")
    return lines
