"""The benchmark in its smallest form: every figure is produced (how fast is for the README)."""

import json
import subprocess
import sys
import time

from colorizer.train import train
from tests.conftest import REPO


def test_bench_smoke_produces_every_figure(tmp_path) -> None:
    output = tmp_path / "bench.json"
    command = [sys.executable, "-m", "colorizer.bench", "--smoke", "--json", str(output)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert figures["header"]["torch_threads"] >= 1 and figures["header"]["torch"]
    for loader in figures["loader"].values():
        assert loader["ours_uint8_img_s"] > 0 and loader["naive_img_s"] > 0 and loader["ratio_with_lab"] > 0
    assert set(figures["training"]) == {"vae/composite@32", "cae/mse@32", "unet/ssim@32"}
    for entry in figures["training"].values():
        assert entry["lightning_img_s"] > 0 and entry["plain_img_s"] > 0 and entry["ratio"] > 0
        assert entry["step_pairs"] == 3 and entry["ratio_quartiles"][0] <= entry["ratio_quartiles"][1]
    assert 0 < figures["training"]["vae/composite@32"]["perceptual_share"] < 1
    prediction = figures["prediction"]
    assert prediction["decode_encode_floor_img_s"] > 0 and prediction["colour_table_s"] >= 0
    assert set(prediction["models"]) == {"unet", "cae", "vae", "gray (no network)"}
    assert all(entry["predict_img_s"] > 0 and entry["ratio"] > 0 for entry in prediction["models"].values())
    assert figures["scale"]["2000"]["images"] == 2000 and figures["peak_rss_mb"] > 0
    assert "Lightning fit vs plain PyTorch loop" in result.stdout and "Prediction, 768x512 JPEG" in result.stdout


def test_first_step_timer_reports_when_training_started(make_cfg, tmp_path) -> None:
    report = tmp_path / "first_step.json"
    launched = time.time()
    cfg = make_cfg(
        "+callbacks.first_step._target_=colorizer.callbacks.FirstStepTimer",
        f"+callbacks.first_step.launched_at={launched}",
        f"+callbacks.first_step.report={report}",
    )
    train(cfg)
    figures = json.loads(report.read_text())
    assert 0 < figures["first_step_start_s"] <= figures["first_step_end_s"] <= time.time() - launched
