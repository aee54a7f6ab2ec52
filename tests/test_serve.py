"""`python -m colorizer.serve` as a client meets it: a server process on a free loopback port with
three checkpoints (a U-Net without hints, a hints U-Net that follows them, a hints net with a
classification head), answers checked against `colorizer.predict`'s own pipeline."""

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import torch
from PIL import Image

from colorizer.color.srgb_table import srgb_table
from colorizer.inference import colorize_prepared, load_colorizer, prepare_photo
from tests.helpers.config import REPO
from tests.helpers.images import bomb_png_bytes, photo_bytes
from tests.helpers.run_if import needs

needs("litserve")
httpx = needs("httpx")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(trained_checkpoints, hints_checkpoints, tmp_path_factory):
    from tests.helpers.server_process import running_server

    paths = [trained_checkpoints["unet"], hints_checkpoints["regression"], hints_checkpoints["classification"]]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    overrides = [
        f"ckpt_paths=[{','.join(str(p) for p in paths)}]",
        "device=cpu",
        "precision=32",
        "max_batch_size=8",
        "batch_timeout=0.2",
        "max_bytes=3000000",
        "max_pixels=2000000",
    ]
    with running_server(overrides, log) as (url, _):
        labels = [model["label"] for model in httpx.get(f"{url}/info").json()["model"]["models"]]
        yield url, dict(zip(["unet", "hints", "classes"], labels, strict=True)), paths


def post(url: str, body: bytes, content_type: str = "image/jpeg", **query: str) -> httpx.Response:
    return httpx.post(f"{url}/predict", content=body, params=query, headers={"Content-Type": content_type}, timeout=60)


def predict_locally(checkpoint: Path, body: bytes) -> np.ndarray:
    """What `colorizer.predict` makes of the same file: [H,W,3] int16."""
    model = load_colorizer(checkpoint)
    prepared = prepare_photo(io.BytesIO(body), model.image_size)
    return np.asarray(colorize_prepared(model, prepared, srgb_table(), torch.device("cpu")), dtype=np.int16)


def as_array(response: httpx.Response, mode: str = "RGB") -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert(mode), dtype=np.int16)


def test_health_and_info_describe_the_models(server):
    url, labels, _ = server
    assert httpx.get(f"{url}/health").text == "ok"
    models = {model["label"]: model for model in httpx.get(f"{url}/info").json()["model"]["models"]}
    assert models[labels["unet"]]["hints"] is False and models[labels["hints"]]["hints"] is True
    assert models[labels["classes"]]["head"] == "classification" and models[labels["unet"]]["head"] == "regression"
    assert models[labels["unet"]]["image_size"] == 32
    serving = httpx.get(f"{url}/info").json()["model"]["serving"]
    threads = max(1, (os.cpu_count() or 1) // 2)  # auto: half the cores for the one worker
    assert serving == {"device": "cpu", "workers": 1, "threads": threads, "max_batch_size": 8, "batch_timeout": 0.2}


@pytest.mark.parametrize(
    ("threads", "workers", "accelerator", "cores", "expected"),
    [
        ("auto", 1, "cpu", 2, 1),
        ("auto", 1, "cpu", 16, 8),
        ("auto", 2, "cpu", 16, 4),
        ("auto", 4, "cpu", 2, 1),
        ("auto", 1, "cuda", 16, 1),
        (3, 1, "cpu", 2, 3),
    ],
)
def test_the_worker_threads_leave_the_api_server_cores_on_a_cpu(threads, workers, accelerator, cores, expected):
    from colorizer.serve.server import worker_threads

    with patch("os.cpu_count", return_value=cores):
        assert worker_threads(threads, workers, accelerator) == expected


@pytest.mark.parametrize("threads", [0, -2, "many", True])
def test_a_bad_threads_value_is_refused_by_name(threads):
    from colorizer.serve.server import worker_threads

    with pytest.raises(ValueError, match=f"threads={threads} is neither auto nor a positive number"):
        worker_threads(threads, 1, "cpu")


def test_a_raw_body_and_a_multipart_form_get_predicts_image(server):
    url, labels, paths = server
    body = photo_bytes(300, 200, seed=1)
    raw = post(url, body)
    assert raw.headers["content-type"] == "image/png" and raw.headers["x-colorizer-model"] == labels["unet"]
    assert float(raw.headers["x-colorizer-time-ms"]) > 0
    expected = predict_locally(paths[0], body)
    assert np.abs(as_array(raw) - expected).max() <= 2
    form = httpx.post(f"{url}/predict", files={"image": ("a.jpg", body, "image/jpeg")}, data={"format": "webp"})
    assert form.headers["content-type"] == "image/webp" and Image.open(io.BytesIO(form.content)).size == (300, 200)
    compare = post(url, body, compare="true", format="jpeg")
    assert Image.open(io.BytesIO(compare.content)).size == (900, 200)  # gray | colorized | truth


def test_alpha_is_given_back(server):
    url, _, _ = server
    body = photo_bytes(64, 48, seed=2, image_format="PNG", mode="RGBA")
    answer = as_array(post(url, body, content_type="image/png"), "RGBA")
    sent = np.asarray(Image.open(io.BytesIO(body)), dtype=np.int16)
    assert np.array_equal(answer[..., 3], sent[..., 3])


def test_concurrent_requests_get_their_own_images_back(server):
    url, _, paths = server
    bodies = [photo_bytes(120 + 8 * i, 90 + 4 * i, seed=10 + i) for i in range(12)]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda body: post(url, body), bodies))
    assert max(int(a.headers["x-colorizer-batch-size"]) for a in answers) > 1, "no two requests shared a batch"
    for body, answer in zip(bodies, answers, strict=True):  # each photo its own size: a mix-up cannot hide
        difference = np.abs(as_array(answer) - predict_locally(paths[0], body))
        assert difference.max() <= 4 and difference.mean() < 0.1  # batch rows round a little differently


def test_hints_and_temperature_reach_the_net(server):
    url, labels, _ = server
    gray = flat_png(120, 90, (128, 128, 128))
    red = json.dumps([{"x": 30, "y": 45, "color": "#d02020"}])
    plain = as_array(post(url, gray, "image/png", model=labels["hints"]))
    hinted = as_array(post(url, gray, "image/png", model=labels["hints"], hints=red))
    assert hinted[45, 30, 0] - hinted[45, 30, 2] > plain[45, 30, 0] - plain[45, 30, 2] + 10, "redder at the point"
    body = photo_bytes(96, 96, seed=3)
    cold, warm = (as_array(post(url, body, model=labels["classes"], temperature=t)) for t in ("0", "1"))
    assert not np.array_equal(cold, warm)


def flat_png(width: int, height: int, colour: tuple[int, int, int] = (90, 120, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def bad_requests(labels: dict[str, str]) -> list[tuple[str, dict, int, str]]:
    good = photo_bytes(80, 60, seed=4)
    outside = json.dumps([{"x": 500, "y": 5, "color": "#ff0000"}])
    return [
        ("not an image", dict(body=b"plain text, not a photo"), 400, "not a readable image"),
        ("truncated", dict(body=good[: len(good) // 2]), 400, "truncated"),
        ("empty", dict(body=b""), 400, "no image"),
        ("bomb", dict(body=bomb_png_bytes(), content_type="image/png"), 413, "too large"),
        ("too many pixels", dict(body=flat_png(2000, 1200), content_type="image/png"), 413, "max_pixels"),
        ("too many bytes", dict(body=b"\xff" * 3_100_000), 413, "max_bytes"),
        ("json", dict(body=b"{}", content_type="application/json"), 415, "not an image"),
        ("hints on a net without", dict(body=good, hints=outside), 422, "trained without hints"),
        ("hint outside", dict(body=good, hints=outside, model=labels["hints"]), 422, "outside the 80x60 image"),
        (
            "bad colour",
            dict(body=good, hints='[{"x": 1, "y": 1, "color": "red"}]', model=labels["hints"]),
            422,
            "not a #rrggbb",
        ),
        ("hints not json", dict(body=good, hints="[{x", model=labels["hints"]), 422, "not JSON"),
        (
            "hints 5,000 lists deep",
            dict(body=good, hints="[" * 5000 + "]" * 5000, model=labels["hints"]),
            422,
            "deeply",
        ),
        ("temperature on regression", dict(body=good, temperature="0.5"), 422, "regresses ab"),
        ("negative temperature", dict(body=good, temperature="-1", model=labels["classes"]), 422, ">= 0"),
        ("temperature not a number", dict(body=good, temperature="hot", model=labels["classes"]), 422, "not a number"),
        ("format", dict(body=good, format="gif"), 422, "gif"),
        ("model", dict(body=good, model="nope"), 422, "not served"),
        (
            "jpeg of a transparent image",
            dict(body=photo_bytes(32, 32, 6, "PNG", "RGBA"), format="jpeg"),
            422,
            "transparency",
        ),
    ]


def test_every_bad_input_gets_its_4xx_and_the_server_keeps_serving(server):
    url, labels, _ = server
    for name, request, status, fragment in bad_requests(labels):
        request = dict(request)
        answer = post(url, request.pop("body"), request.pop("content_type", "image/jpeg"), **request)
        assert answer.status_code == status, (name, answer.text)
        assert fragment in answer.json()["error"], (name, answer.json())
    assert httpx.get(f"{url}/health").status_code == 200
    assert post(url, photo_bytes(50, 40, seed=7)).status_code == 200


def test_a_client_that_leaves_mid_upload_does_not_hurt_the_next(server):
    url, _, _ = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as client:
        headers = (
            f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\nContent-Length: 500000\r\n\r\n"
        )
        client.sendall(headers.encode() + photo_bytes(400, 300, seed=8)[:5000])
    assert post(url, photo_bytes(50, 40, seed=9)).status_code == 200


@pytest.mark.parametrize("problem", ["missing", "broken"])
def test_the_command_says_in_one_line_what_is_wrong_with_a_checkpoint(problem, tmp_path):
    path = tmp_path / "model.ckpt"
    if problem == "broken":
        path.write_bytes(b"not a checkpoint at all")
    run = subprocess.run(
        [sys.executable, "-m", "colorizer.serve", f"ckpt_path={path}", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("colorizer.serve: ") and str(path) in last
    assert ("does not exist" if problem == "missing" else "cannot be read") in last


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (Linux's /proc)."""
    found, pending = set(), [pid]
    while pending:
        current = pending.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found.update(int(child) for child in children)
        pending.extend(int(child) for child in children)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.contextmanager
def own_server(checkpoint: Path, folder: Path, *overrides: str) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """`python -m colorizer.serve` for one test to stop or break: (process, URL, log)."""
    from tests.helpers.server_process import free_port, wait_for_http

    port, log = free_port(), folder / "serve.log"
    command = [sys.executable, "-m", "colorizer.serve", f"ckpt_path={checkpoint}", "device=cpu", *overrides]
    command += ["host=127.0.0.1", f"port={port}", f"hydra.run.dir={folder / 'run'}"]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, log)
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def inference_worker(server_pid: int) -> int:
    """The inference worker: LitServe spawns it (its manager is forked, its resource tracker named)."""
    (worker,) = [pid for pid in descendants(server_pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return worker


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_every_process_and_exits_0(trained_checkpoints, tmp_path, stop_signal):
    with own_server(trained_checkpoints["unet"], tmp_path) as (process, url, log):
        assert post(url, photo_bytes(40, 30, seed=1)).status_code == 200
        started = descendants(process.pid)
        assert started, "the worker, LitServe's manager and the resource tracker run as processes of their own"
        # SIGTERM as a supervisor sends it, to the server alone; Ctrl+C reaches the whole group.
        if stop_signal == signal.SIGINT:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0, log.read_text()[-2000:]
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in started if alive(pid)], "no process is left behind"
        assert "Traceback" not in log.read_text(), log.read_text()[-2000:]


def test_a_killed_worker_stops_the_server_with_exit_1_and_leaves_nothing_behind(trained_checkpoints, tmp_path):
    with own_server(trained_checkpoints["unet"], tmp_path) as (process, url, log):
        started = descendants(process.pid)
        os.kill(inference_worker(process.pid), signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        assert "An inference worker died, so the server stopped" in log.read_text()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in started if alive(pid)], "no process is left behind"
        assert "Traceback" not in log.read_text(), log.read_text()[-2000:]
