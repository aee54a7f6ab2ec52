"""Source-report presets, sweeps, Optuna, K-fold summaries, DDP and the submitit launcher."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import EarlyStopping

from colorizer.data.transforms import lab_batch
from colorizer.evaluation.metrics import ColorizationMetrics
from colorizer.inference import load_colorizer
from colorizer.losses.perceptual import build_vgg_features, vgg_layer_indices
from colorizer.summarize import summarize
from colorizer.train import train
from colorizer.training.build import build_module, build_trainer
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
    data = ["data.source.num_images=8"]
    source = make_cfg(f"experiment={preset}", tiny=False).data.source
    if source.get("subfolder") == "color":
        write_images(tmp_path / "landscape" / "color", 12)
        data = [f"data.source.root={tmp_path / 'landscape'}"]
    elif source._target_.endswith("FolderSource"):
        write_images(tmp_path / "a", 6), write_images(tmp_path / "b", 6, seed=1)
        data = [f"data.source.root=[{tmp_path / 'a'},{tmp_path / 'b'}]"]
    cfg = make_cfg(f"experiment={preset}", "trainer=debug", "trainer.accelerator=cpu", *data, tiny=False)
    if "perceptual" in cfg.loss:
        cfg.loss.perceptual.pretrained = False
    cfg.data.batch_size = 4
    cfg.trainer.enable_progress_bar = False
    metrics = train(cfg)
    assert "test/psnr" in metrics and "test/r2_ab" in metrics


def learning_rates(cfg, epochs: int) -> list[float]:
    """The learning rate the preset's optimizer and schedule give at each epoch."""
    module = build_module(cfg)
    module.trainer = Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False)
    configured = module.configure_optimizers()
    optimizer, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_presets_train_the_reports_setups(make_cfg) -> None:
    """What each source report's preset trains, read off what it builds (the net, the loss terms,
    the learning rate over epochs, the callbacks, the data's sizes and splits), not its YAML."""
    unet = make_cfg("experiment=landscape_unet_ssim", "data=synthetic", "data.source.num_images=100", tiny=False)
    rates = learning_rates(unet, 61)
    assert rates[0] == pytest.approx(1e-4) and rates[30] == pytest.approx(5e-5) and rates[60] == pytest.approx(1e-5)
    assert [type(term).__name__ for term in build_module(unet).loss.terms.values()] == ["SSIMLoss"]
    (stopping,) = [c for c in build_trainer(unet).callbacks if isinstance(c, EarlyStopping)]
    assert stopping.patience == 15 and stopping.monitor == "val/psnr"
    data = instantiate(unet.data)
    data.setup()
    assert {split: data.split_size(split) for split in ("train", "val", "test")} == {"train": 64, "val": 16, "test": 20}
    assert next(iter(data.train_dataloader())).shape == (32, 3, 64, 64)

    vae = make_cfg("experiment=vae_composite", "loss.perceptual.pretrained=false", tiny=False)
    module = build_module(vae)
    assert module.net(torch.rand(1, 1, 224, 224)).shape == (1, 2, 224, 224)
    terms = {type(term).__name__ for term in module.loss.terms.values()}
    assert terms == {"CharbonnierLoss", "CosineLoss", "PerceptualLoss", "KLDivergenceLoss"}
    perceptual = module.loss.terms["perceptual"]
    assert perceptual.layer_indices == [vgg_layer_indices(build_vgg_features("vgg19", False, None))["relu3_4"]]

    unet5 = build_module(make_cfg("experiment=unet5_mae", tiny=False)).net
    assert len(unet5.encoder) == 5 and unet5.concat_input
    assert unet5(torch.rand(1, 1, 160, 160)).shape == (1, 2, 160, 160)

    cnn = make_cfg("experiment=cnn_perceptual", "loss.perceptual.pretrained=false", tiny=False)
    assert build_trainer(cnn).accumulate_grad_batches == 4
    assert build_module(cnn).loss.terms["perceptual"].layer_indices[-1] < len(build_vgg_features("vgg11", False, None))


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
        "data.source.num_images=40",
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
