"""TensorBoard as a user opens it: `tensorboard --logdir` over two short runs, read through its
HTTP API (what the CUSTOM SCALARS, IMAGES and HPARAMS tabs fetch)."""

import json
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from colorizer.train import train
from colorizer.training.loggers import CUSTOM_SCALARS, HEADLINE_METRICS, VERDICT
from tests.helpers.config import TINY, compose_config
from tests.helpers.server_process import free_port
from tests.helpers.servers import stop, wait_for_http

STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def get(base: str, route: str, **params: str):
    url = f"{base}{route}?{urllib.parse.urlencode(params)}" if params else f"{base}{route}"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read()
    return body if route.endswith("individualImage") else json.loads(body)


@pytest.fixture(scope="module")
def tensorboard(tmp_path_factory):
    """Two runs that differ only in the learning rate, and TensorBoard serving both."""
    logdir = tmp_path_factory.mktemp("outputs")
    for name, lr in (("slow", "1e-3"), ("fast", "3e-3")):
        train(compose_config([*TINY, "model=unet", "loss=mse", f"optimizer.lr={lr}"], logdir / name))
    port = free_port()
    log = logdir / "tensorboard.log"
    with log.open("w") as handle:
        command = [sys.executable, "-m", "tensorboard.main", f"--logdir={logdir}", "--host=127.0.0.1", f"--port={port}"]
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/data/runs", process, log)
        yield base
    finally:
        stop(process)


@pytest.mark.slow
def test_custom_scalars_put_each_metric_beside_its_baseline(tensorboard) -> None:
    layout = get(tensorboard, "/data/plugin/custom_scalars/layout")
    charts = {chart["title"]: chart for category in layout["category"] for chart in category["chart"]}
    assert set(charts) == {title for category in CUSTOM_SCALARS.values() for title in category}
    psnr = charts["psnr (dB) vs gray_psnr"]["multiline"]["tag"]
    for run in ("slow/tensorboard", "fast/tensorboard"):
        for pattern in psnr:
            found = get(tensorboard, "/data/plugin/custom_scalars/scalars", run=run, tag=pattern)
            assert found["regex_valid"] and found["tag_to_events"], (run, pattern)
            assert all(len(events) >= 1 for events in found["tag_to_events"].values())
        losses = charts["loss terms (steps)"]["multiline"]["tag"][0]
        assert (
            "train/loss_step"
            in get(tensorboard, "/data/plugin/custom_scalars/scalars", run=run, tag=losses)["tag_to_events"]
        )


def test_scalars_lead_with_train_and_val(tensorboard) -> None:
    tags = get(tensorboard, "/data/plugin/scalars/tags")
    groups = sorted({tag.split("/", 1)[0] for run in tags.values() for tag in run})
    assert groups[:2] == ["train", "val"], "TensorBoard expands the first two groups by name"


def test_image_plugin_serves_the_grid(tensorboard) -> None:
    tags = get(tensorboard, "/data/plugin/images/tags")
    assert "val/colorization" in tags["slow/tensorboard"]
    images = get(tensorboard, "/data/plugin/images/images", run="slow/tensorboard", tag="val/colorization", sample="0")
    png = get(tensorboard, "/data/plugin/images/individualImage", **dict(urllib.parse.parse_qsl(images[-1]["query"])))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_hparams_lists_the_headline_metrics_and_what_differs(tensorboard) -> None:
    experiment = get(tensorboard, "/data/plugin/hparams/experiment", request=json.dumps({"experimentName": ""}))
    metrics = [info["name"]["tag"] for info in experiment["metricInfos"]]
    assert metrics == sorted(f"{VERDICT}/{name}" for name in HEADLINE_METRICS)
    differs = {info["name"]: info.get("differs", False) for info in experiment["hparamInfos"]}
    assert differs["optimizer/lr"] and not differs["data/image_size"]
    assert [name for name, changed in differs.items() if changed] == ["optimizer/lr"]
    assert not any(name.startswith(("data/cache_dir", "data/root", "data/num_workers")) for name in differs)
    groups = get(
        tensorboard,
        "/data/plugin/hparams/session_groups",
        request=json.dumps({"experimentName": "", "startIndex": 0, "sliceSize": 10, "allowedStatuses": STATUSES}),
    )
    assert len(groups["sessionGroups"]) == 2
    for group in groups["sessionGroups"]:
        values = {value["name"]["tag"]: value["value"] for value in group["metricValues"]}
        assert set(values) == set(metrics) and all(isinstance(v, float) for v in values.values()), group
