"""Weights & Biases and MLflow as a user meets them, without a network: an offline W&B run read
back from its folder, and an MLflow sweep read back through `mlflow server`'s REST API."""

import json
import os
import struct
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from colorizer.summarize import summarize
from colorizer.train import train
from colorizer.training.loggers import HEADLINE_METRICS
from tests.helpers.config import REPO, TINY
from tests.helpers.run_if import needs
from tests.helpers.server_process import free_port
from tests.helpers.servers import stop, wait_for_http


def wandb_records(run_dir: Path) -> list:
    """Every record of an offline run's `.wandb` file. By hand, because wandb 0.31 dropped its
    Python reader: a 7-byte header, then LevelDB's log format (32 KiB blocks of chunks, each
    crc32 / length / type) around W&B's protobuf Records."""
    from wandb.proto import wandb_internal_pb2

    data = next(run_dir.glob("*.wandb")).read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    block, offset, chunks, records = 32768, 7, [], []
    while offset + 7 <= len(data):
        if block - offset % block < 7:  # a block's tail too short for a chunk header is padding
            offset += block - offset % block
            continue
        _, length, kind = struct.unpack("<IHB", data[offset : offset + 7])
        if kind == 0:
            break
        chunks.append(data[offset + 7 : offset + 7 + length])
        offset += 7 + length
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            records.append(record)
            chunks = []
    return records


def test_wandb_is_offline_unless_a_key_is_configured(tmp_path, monkeypatch):
    from colorizer.training.loggers.wandb_logger import offline_mode

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert offline_mode(None), "no key: offline, never a login prompt"
    netrc_file = tmp_path / ".netrc"
    netrc_file.write_text(f"machine api.wandb.ai\n  login user\n  password {'k' * 40}\n")
    netrc_file.chmod(0o600)
    assert not offline_mode(None), "a key in ~/.netrc: online"
    netrc_file.unlink()
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert not offline_mode(None), "a key in the environment: online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert offline_mode(None) and not offline_mode(False), "WANDB_MODE=offline, unless the config says otherwise"


@pytest.mark.slow
def test_an_offline_wandb_run_holds_the_curves_beside_gray_the_verdict_and_the_grid(make_cfg, tmp_path, monkeypatch):
    needs("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc key: offline by itself, never a prompt
    cfg = make_cfg("logger=wandb", "trainer.max_epochs=2")
    metrics = train(cfg)
    (run_dir,) = (Path(cfg.paths.output_dir) / "wandb").glob("offline-run-*")
    records = wandb_records(run_dir)

    def items(kind: str, field: str) -> list[dict]:
        return [
            {
                item.key or "/".join(item.nested_key): json.loads(item.value_json)
                for item in getattr(getattr(r, kind), field)
            }
            for r in records
            if r.WhichOneof("record_type") == kind
        ]

    summary = {key: value for update in items("summary", "update") for key, value in update.items()}
    for name in HEADLINE_METRICS:
        assert summary[f"verdict/{name}"] == pytest.approx(metrics[f"test/{name}"])
    config = {key: value for update in items("config", "update") for key, value in update.items()}
    assert config["model"]["_target_"] == cfg.model._target_, "the Hydra config is the W&B config"
    history = items("history", "item")
    validations = [row for row in history if "val/psnr" in row]
    assert len(validations) == 2 and all("val/gray_psnr" in row for row in validations)
    assert any("train/loss_step" in row for row in history)
    assert "_wandb/visualize/charts/val_psnr_vs_gray" in config, "the model-against-gray chart"
    (table,) = (run_dir / "files" / "media" / "table" / "charts").glob("val_psnr_vs_gray_table*.json")
    lines = {row[1] for row in json.loads(table.read_text())["data"]}
    assert lines == {"val/psnr", "val/gray_psnr"}
    assert list((run_dir / "files" / "media" / "images").rglob("*.png")), "the image grid as wandb.Image"
    assert not list(run_dir.rglob("*.ckpt")), "checkpoints are artifacts only with log_model=true"


@pytest.mark.slow
def test_an_mlflow_sweep_is_one_experiment_that_mlflow_server_answers_for(tmp_path):
    needs("mlflow")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sweep = [
        sys.executable,
        "-m",
        "colorizer.train",
        "-m",
        *TINY,
        "logger=mlflow",
        f"logger.mlflow.tracking_uri={store}",
        f"logger.mlflow.artifact_location={tmp_path / 'artifacts'}",
        "optimizer.lr=0.001,0.003",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    # From its own folder, as a user's project would: MLflow's store leaves an mlruns/ where it runs.
    environment = os.environ | {"PYTHONPATH": str(REPO)}
    run = subprocess.run(sweep, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    table = summarize(tmp_path / "sweep")
    assert "0.001" in table and "0.003" in table, "colorizer.summarize works whatever the logger"

    port = free_port()
    log = tmp_path / "mlflow-server.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                store,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--default-artifact-root",
                str(tmp_path / "artifacts"),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/health", server, log)
        request = urllib.request.Request(
            f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=colorizer", method="GET"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            experiment_id = json.load(answer)["experiment"]["experiment_id"]
        search = json.dumps({"experiment_ids": [experiment_id]}).encode()
        request = urllib.request.Request(f"{url}/api/2.0/mlflow/runs/search", data=search, method="POST")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as answer:
            runs = json.load(answer)["runs"]
    finally:
        stop(server)
    assert len(runs) == 2, "the sweep's two jobs are two runs of one experiment"
    learning_rates = set()
    for found in runs:
        params = {p["key"]: p["value"] for p in found["data"]["params"]}
        metrics = {m["key"]: m["value"] for m in found["data"]["metrics"]}
        learning_rates.add(params["optimizer/lr"])
        assert params["model/_target_"] == "colorizer.models.UNet"
        assert {f"verdict/{name}" for name in HEADLINE_METRICS} <= set(metrics) and "val/gray_psnr" in metrics
        assert "optimizer.lr=" in found["info"]["run_name"], "named after Hydra's job and its overrides"
        grids = list((tmp_path / "artifacts" / found["info"]["run_id"]).rglob("val/colorization/step*.png"))
        assert grids, "the image grid as an artifact"
    assert learning_rates == {"0.001", "0.003"}
