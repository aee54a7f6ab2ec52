"""Train -> checkpoint -> test on synthetic data, through the same `train(cfg)` the CLI runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from colorizer.train import train
from tests.conftest import REPO


def hparams_tags(run_dir: Path) -> set[str]:
    """Tags written by TensorBoard's hparams plugin (what the HPARAMS tab reads)."""
    tags = set()
    for file in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(file)).Load():
            tags |= {v.tag for v in event.summary.value if v.metadata.plugin_data.plugin_name == "hparams"}
    return tags


def event_tags(run_dir: Path) -> dict[str, list[str]]:
    files = list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert files, f"no TensorBoard event file in {run_dir / 'tensorboard'}"
    tags: dict[str, list[str]] = {"scalars": [], "images": []}
    for file in files:
        accumulator = EventAccumulator(str(file), size_guidance={"images": 0, "scalars": 0})
        accumulator.Reload()
        for kind in tags:
            tags[kind] += accumulator.Tags()[kind]
    return tags


@pytest.mark.parametrize(
    ("model", "loss", "terms"),
    [
        ("vae", "composite", {"charbonnier", "cosine", "perceptual", "kl"}),
        ("cae", "mse", {"mse"}),
        ("unet", "ssim", {"ssim"}),
    ],
)
def test_train_checkpoint_test(make_cfg, model: str, loss: str, terms: set[str]) -> None:
    overrides = [f"model={model}", f"loss={loss}", "trainer.max_epochs=2"]
    if loss == "composite":
        overrides.append("loss.perceptual.pretrained=false")
    cfg = make_cfg(*overrides)
    run_dir = Path(cfg.paths.output_dir)

    metrics = train(cfg)

    for name in ("psnr", "ssim", "mae", "rmse_ab", "delta_e", "colorfulness", "gray_psnr", "gray_ssim", "psnr_gain"):
        assert torch.isfinite(torch.tensor(metrics[f"test/{name}"])), name
    assert metrics["test/psnr_gain"] == pytest.approx(metrics["test/psnr"] - metrics["test/gray_psnr"], abs=1e-4)
    assert json.loads((run_dir / "metrics.json").read_text())["test/psnr"] == pytest.approx(metrics["test/psnr"])

    checkpoints = {p.name for p in (run_dir / "checkpoints").glob("*.ckpt")}
    assert "last.ckpt" in checkpoints and any(name.startswith("best-epoch") for name in checkpoints)
    best = torch.load(metrics["best_checkpoint"], map_location="cpu", weights_only=False)
    assert best["colorizer_config"]["model"]["_target_"] == cfg.model._target_
    assert not any("_vgg" in key for key in best["state_dict"]), "the frozen VGG is not saved"
    assert (run_dir / "skipped_files.tsv").read_text().startswith("file\treason")

    tags = event_tags(run_dir)
    expected = {"train/loss_step", "val/psnr", "val/gray_psnr", "val/psnr_gain", "test/psnr", "lr-Adam"}
    expected |= {f"train/loss_{term}_step" for term in terms} | {f"val/loss_{term}" for term in terms}
    assert expected <= set(tags["scalars"]), expected - set(tags["scalars"])
    assert "val/colorization" in tags["images"]
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= hparams_tags(run_dir)


def test_csv_logger_writes_metrics_and_grid_pngs(make_cfg) -> None:
    cfg = make_cfg("logger=csv", "callbacks.lr_monitor=null")
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "val/psnr" in header and "train/loss_ssim_epoch" in header
    assert list((run_dir / "csv" / "images").glob("epoch*.png"))


def test_debug_trainer_runs_one_batch_without_checkpoints(make_cfg) -> None:
    cfg = make_cfg("trainer=debug", "trainer.accelerator=cpu", "model=cae", "loss=l1")
    metrics = train(cfg)
    assert metrics["best_checkpoint"] is None and "test/psnr" in metrics


def test_scheduler_options_train(make_cfg) -> None:
    for scheduler in ("plateau", "multistep"):
        metrics = train(make_cfg(f"scheduler={scheduler}", "model=cae", "loss=mse"))
        assert "test/psnr" in metrics


def test_command_line_entry_point(tmp_path) -> None:
    """`python -m colorizer.train` as a user runs it, with Hydra's own run folder."""
    run_dir = tmp_path / "cli_run"
    command = [
        sys.executable,
        "-m",
        "colorizer.train",
        "trainer=debug",
        "trainer.accelerator=cpu",
        "data.num_images=12",
        "data.image_size=32",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={run_dir}",
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "metrics.json").is_file() and (run_dir / ".hydra" / "config.yaml").is_file()
