"""Train -> checkpoint -> test on synthetic data, through the same `train(cfg)` the CLI runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import LambdaCallback

from colorizer.config import ConfigError
from colorizer.inference.checkpoints import load_colorizer
from colorizer.train import train
from colorizer.training.build import build_module, build_trainer
from tests.helpers.config import REPO
from tests.helpers.events import event_tags, hparams_tags


@pytest.mark.parametrize(
    ("model", "loss", "terms"),
    [
        ("vae", "composite", {"charbonnier", "cosine", "perceptual", "kl"}),
        ("cae", "mse", {"mse"}),
        ("unet", "ssim", {"ssim"}),
    ],
)
@pytest.mark.slow
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
    expected = {
        "train/loss_step",
        "val/psnr",
        "val/gray_psnr",
        "val/psnr_gain",
        "train/schedule/lr-Adam",
        "train/schedule/epoch",
    }
    expected |= {f"train/loss_{term}_step" for term in terms} | {f"val/loss_{term}" for term in terms}
    assert expected <= set(tags["scalars"]), expected - set(tags["scalars"])
    assert "val/colorization" in tags["images"]
    assert not {tag for tag in tags["scalars"] if not tag.startswith(("train/", "val/"))}, "SCALARS opens on these"
    # No experiment summary: TensorBoard then works out which hyperparameters differ between runs.
    assert hparams_tags(run_dir) == {"_hparams_/session_start_info", "_hparams_/session_end_info"}


@pytest.mark.slow
def test_the_default_run_beats_gray_after_three_of_its_epochs(make_cfg) -> None:
    # README command 1 as it is (1,000 synthetic landscapes, the default net and loss), cut to 3 of its 10 epochs.
    cfg = make_cfg("trainer.max_epochs=3", "trainer.enable_progress_bar=false", tiny=False)
    metrics = train(cfg)
    assert metrics["test/psnr_gain"] > 1.0, metrics["test/psnr_gain"]
    assert metrics["test/psnr"] > metrics["test/gray_psnr"]


def test_csv_logger_writes_metrics_and_grid_pngs(make_cfg) -> None:
    cfg = make_cfg("logger=csv", "callbacks.lr_monitor=null")
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "val/psnr" in header and "train/loss_mse_epoch" in header and "train/loss_ssim_epoch" in header
    assert list((run_dir / "csv" / "images").glob("epoch*.png"))


def test_debug_trainer_runs_one_batch_without_checkpoints(make_cfg) -> None:
    cfg = make_cfg("trainer=debug", "trainer.accelerator=cpu", "model=cae", "loss=l1")
    metrics = train(cfg)
    assert metrics["best_checkpoint"] is None and "test/psnr" in metrics


def test_ema_validates_and_saves_the_averaged_weights_which_inference_loads(make_cfg) -> None:
    cfg = make_cfg("callbacks=ema", "model=cae", "loss=mse", "trainer.max_epochs=2", "optimizer.lr=1e-3")
    metrics = train(cfg)
    checkpoint = torch.load(metrics["best_checkpoint"], map_location="cpu", weights_only=False)
    averaged, trained = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert averaged.keys() == trained.keys()
    moved = [key for key, value in averaged.items() if value.is_floating_point() and not value.equal(trained[key])]
    assert any(key.startswith("net.") for key in moved), "the average lags the weights being trained"
    assert torch.equal(averaged["train_mean_ab"], trained["train_mean_ab"]), "set before the first average"
    net = load_colorizer(metrics["best_checkpoint"]).net
    assert all(torch.equal(value, averaged[f"net.{key}"]) for key, value in net.state_dict().items())


def fit_recording_lr(cfg, hook: str) -> tuple[list[float], Trainer]:
    """Fit `cfg` and record the learning rate at every `hook` ("on_train_epoch_start", ...)."""
    lrs: list[float] = []
    module, trainer = build_module(cfg), build_trainer(cfg)
    trainer.callbacks.append(LambdaCallback(**{hook: lambda t, *_: lrs.append(t.optimizers[0].param_groups[0]["lr"])}))
    trainer.fit(module, datamodule=instantiate(cfg.data))
    return lrs, trainer


@pytest.mark.parametrize(
    "scheduler",
    [
        # x0.1 from the second epoch on.
        ["scheduler=multistep", "scheduler.milestones=[1]", "scheduler.gammas=[0.1]"],
        # No epoch improves by 1000 %: the second epoch already counts as a plateau, and halves the rate.
        ["scheduler=plateau", "scheduler.patience=0", "+scheduler.threshold=10.0"],
    ],
    ids=["multistep", "plateau"],
)
def test_epoch_schedulers_change_the_learning_rate(make_cfg, scheduler: list[str]) -> None:
    cfg = make_cfg(*scheduler, "model=cae", "loss=mse", "trainer.max_epochs=3", "optimizer.lr=1e-3")
    lrs, _ = fit_recording_lr(cfg, "on_train_epoch_start")
    expected = [1e-3, 1e-4, 1e-4] if "scheduler=multistep" in scheduler else [1e-3, 1e-3, 5e-4]
    assert lrs == pytest.approx(expected), lrs


@pytest.mark.slow
def test_one_cycle_schedule_warms_up_and_anneals_over_the_run(make_cfg) -> None:
    overrides = ["scheduler=onecycle", "scheduler.pct_start=0.25", "optimizer.lr=0.01", "model=cae", "loss=mse"]
    lrs, trainer = fit_recording_lr(
        make_cfg(*overrides, "data.source.num_images=100", "trainer.max_epochs=2"), "on_train_batch_start"
    )
    steps = trainer.global_step
    assert steps == len(lrs) == 2 * trainer.num_training_batches
    peak = max(range(steps), key=lrs.__getitem__)
    assert lrs[0] == pytest.approx(0.01 / 10) and lrs[peak] == pytest.approx(0.01, rel=0.05)
    assert 0 < peak < steps - 1 and lrs[-1] < lrs[0]  # up, then annealed below the start


@pytest.mark.slow
def test_command_line_entry_point(tmp_path) -> None:
    """`python -m colorizer.train` as a user runs it, with Hydra's own run folder."""
    run_dir = tmp_path / "cli_run"
    command = [
        sys.executable,
        "-m",
        "colorizer.train",
        "trainer=debug",
        "trainer.accelerator=cpu",
        "data.source.num_images=12",
        "data.image_size=32",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={run_dir}",
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "metrics.json").is_file() and (run_dir / ".hydra" / "config.yaml").is_file()


def test_progressive_resizing_trains_at_half_size_first_and_validates_at_full(make_cfg) -> None:
    cfg = make_cfg("data.half_size_epochs=1", "trainer.max_epochs=2", "model=cae", "loss=mse")
    seen: dict[str, set[tuple[int, int]]] = {"train": set(), "val": set()}

    def record(stage: str):
        return lambda trainer, module, batch, *_: seen[stage].add((trainer.current_epoch, batch["L"].shape[-1]))

    trainer = build_trainer(cfg)
    trainer.callbacks.append(
        LambdaCallback(on_train_batch_start=record("train"), on_validation_batch_start=record("val"))
    )
    trainer.fit(build_module(cfg), datamodule=instantiate(cfg.data))
    assert seen["train"] == {(0, 16), (1, 32)}
    assert {size for _, size in seen["val"]} == {32}


def test_progressive_resizing_is_refused_for_a_net_of_fixed_size(make_cfg) -> None:
    with pytest.raises(ConfigError, match="half_size_epochs=2 trains at half size first, and ConvVAE cannot take"):
        train(make_cfg("model=vae", "loss=mse", "data.half_size_epochs=2"))
