"""Source-report presets, sweeps, Optuna, K-fold summaries, DDP and the submitit launcher."""

from pathlib import Path

import pytest
import torch

from colorizer.data.transforms import lab_batch
from colorizer.evaluation.metrics import ColorizationMetrics
from colorizer.inference import load_colorizer
from colorizer.summarize import summarize
from colorizer.train import train
from colorizer.training.config_checks import check_multirun_strategy
from tests.helpers.commands import run_command
from tests.helpers.config import CONF_DIR, TINY
from tests.helpers.images import write_images
from tests.helpers.run_if import needs

PRESETS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def test_every_source_report_has_a_preset() -> None:
    reports = {"landscape_ae_mae", "landscape_unet_ssim", "vae_composite", "cae_mse", "unet5_mae", "cnn_perceptual"}
    assert reports <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.slow
def test_preset_runs_with_the_debug_trainer(make_cfg, tmp_path, preset: str) -> None:
    data = ["data.num_images=8"]
    target = make_cfg(f"experiment={preset}", tiny=False).data._target_
    if target.endswith("KaggleLandscapeDataModule"):
        write_images(tmp_path / "landscape" / "color", 12)
        data = [f"data.root={tmp_path / 'landscape'}"]
    elif target.endswith("ImageFolderDataModule"):
        write_images(tmp_path / "a", 6), write_images(tmp_path / "b", 6, seed=1)
        data = [f"data.root=[{tmp_path / 'a'},{tmp_path / 'b'}]"]
    cfg = make_cfg(f"experiment={preset}", "trainer=debug", "trainer.accelerator=cpu", *data, tiny=False)
    if "perceptual" in cfg.loss:
        cfg.loss.perceptual.pretrained = False
    cfg.data.batch_size = 4
    cfg.trainer.enable_progress_bar = False
    metrics = train(cfg)
    assert "test/psnr" in metrics and "test/r2_ab" in metrics


def test_presets_reproduce_the_reports_setups(make_cfg) -> None:
    unet = make_cfg("experiment=landscape_unet_ssim", tiny=False)
    assert unet.optimizer.lr == 1e-4 and list(unet.scheduler.gammas) == [0.5, 0.2] and unet.data.batch_size == 32
    assert unet.callbacks.early_stopping.patience == 15 and dict(unet.data.splits) == {
        "train": 0.64,
        "val": 0.16,
        "test": 0.2,
    }
    vae = make_cfg("experiment=vae_composite", tiny=False)
    assert vae.data.image_size == 224 and vae.model.image_size == 224 and vae.loss.perceptual.layers == ["relu3_4"]
    assert dict(vae.data.splits) == {"train": 0.8, "val": 0.16, "test": 0.04}
    unet5 = make_cfg("experiment=unet5_mae", tiny=False)
    assert unet5.model.depth == 5 and unet5.model.concat_input and unet5.data.image_size == 160
    fast = make_cfg("experiment=landscape_fast", tiny=False)
    assert fast.model.base_width == 16 and fast.loss.mse.weight == 1 and fast.scheduler.max_lr == fast.optimizer.lr
    assert fast.trainer.precision == "auto" and fast.data.batch_size == 16
    vivid = make_cfg("experiment=landscape_vivid", tiny=False)
    assert vivid.loss.adversarial.weight == 2e-3 and vivid.loss.mse.weight == 1 and vivid.loss.ssim.weight == 0.1
    assert vivid.trainer.max_epochs == 10
    assert vivid.model.head._target_.endswith("RegressionHead")
    best = make_cfg("experiment=landscape_best", tiny=False)
    assert best.model.depth == 5 and best.trainer.max_epochs == 40 and best.loss.ssim.weight == 0.1
    assert best.model.head._target_.endswith("RegressionHead")
    cnn = make_cfg("experiment=cnn_perceptual", tiny=False)
    assert cnn.loss.perceptual.arch == "vgg11" and cnn.trainer.accumulate_grad_batches == 4


@pytest.mark.slow
def test_multirun_records_a_failed_job_and_goes_on(tmp_path) -> None:
    sweep = tmp_path / "sweep"
    # ++model.widths only fits the CAE: the U-Net and VAE jobs fail at construction.
    result = run_command(
        "train",
        "-m",
        "model=cae,unet,vae",
        "++model.widths=[8,16,32,64]",
        *TINY,
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={tmp_path / 'cache'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (sweep / "0" / "metrics.json").is_file()
    for job in ("1", "2"):
        assert (sweep / job / "error.txt").read_text().startswith("InstantiationException")
    table = summarize(sweep)
    assert "| 0 | ok | cae |" in table and "failed: InstantiationException" in table
    assert (sweep / "summary.csv").is_file() and (sweep / "summary.png").stat().st_size > 1000


@pytest.mark.slow
def test_optuna_search_with_sqlite_storage(tmp_path) -> None:
    sweep = tmp_path / "optuna"
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    result = run_command(
        "train",
        "hparams_search=unet_optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.n_startup_trials=2",
        *TINY,
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={tmp_path / 'c'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Best value" in result.stdout + result.stderr
    table = summarize(sweep)
    for key in ("optimizer.lr", "loss.l1.weight"):  # continuous, so every trial differs
        assert key in table
    assert sum(line.startswith("| ") for line in table.splitlines()) == 1 + 3
    assert (tmp_path / "study.db").stat().st_size > 0, "the study is stored and can be resumed"


@pytest.mark.slow
def test_five_fold_run_summarises_as_mean_and_std(tmp_path) -> None:
    sweep = tmp_path / "kfold"
    result = run_command(
        "train",
        "-m",
        "data.num_folds=5",
        "data.fold=0,1,2,3,4",
        "model=cae",
        "loss=mse",
        *TINY,
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={tmp_path / 'cache'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = summarize(sweep)
    last = table.strip().splitlines()[-1]
    assert last.startswith("| mean ± std | 5 of 5 jobs |") and last.count("±") >= 7


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_logs_the_whole_validation_set(make_cfg) -> None:
    cfg = make_cfg(
        "trainer=ddp",
        "trainer.strategy=ddp_spawn",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "model=cae",
        "loss=mse",
        "data.num_images=40",
        "data.batch_size=4",
        "data.splits.train=0.6",
        "data.splits.val=0.2",
        "data.splits.test=0.2",
        "data.flip=false",
    )
    metrics = train(cfg)
    # 8 validation images on 2 ranks, 4 each: no sample is repeated to even out the shards.
    model = load_colorizer(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    from hydra.utils import instantiate

    datamodule = instantiate(cfg.data)
    datamodule.setup()
    whole = ColorizationMetrics()
    batch = lab_batch(datamodule.split_images("val"))
    with torch.no_grad():
        whole.update(batch["L"], model.net(batch["L"]), batch["ab"])
    expected = whole.compute()
    assert len(datamodule.split_images("val")) == 8
    assert metrics["val/psnr"] == pytest.approx(expected["psnr"].item(), abs=1e-3)
    assert metrics["val/rmse_ab"] == pytest.approx(expected["rmse_ab"].item(), abs=1e-3)


def test_ddp_under_multirun_is_refused_with_a_way_out(make_cfg) -> None:
    cfg = make_cfg("trainer=ddp")
    with pytest.raises(ValueError, match="ddp_spawn.*hydra/launcher=slurm"):
        check_multirun_strategy(cfg, multirun=True)
    check_multirun_strategy(cfg, multirun=False)
    cfg.trainer.strategy = "ddp_spawn"
    check_multirun_strategy(cfg, multirun=True)


@pytest.mark.slow
def test_submitit_local_launcher(tmp_path) -> None:
    needs("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "submitit"
    result = run_command(
        "train",
        "-m",
        "hydra/launcher=submitit_local",
        "model=cae,unet",
        "loss=mse",
        *TINY,
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={tmp_path / 'cache'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (sweep / "0" / "metrics.json").is_file() and (sweep / "1" / "metrics.json").is_file()


@pytest.mark.slow
def test_slurm_launcher_config_composes(tmp_path) -> None:
    needs("hydra_plugins.hydra_submitit_launcher")
    result = run_command("train", "hydra/launcher=slurm", "--cfg", "hydra", "--package", "hydra.launcher")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "partition: gpu" in result.stdout and "SlurmLauncher" in result.stdout
