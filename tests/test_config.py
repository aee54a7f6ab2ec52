"""Every option of every config group composes and instantiates."""

import pytest
import torch
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.loggers import Logger

from colorizer.data import LabColorizationDataModule
from colorizer.losses import CompositeLoss
from colorizer.models import ColorizationModule, ColorizationNet
from colorizer.train import build_module, build_trainer
from tests.conftest import CONF_DIR, write_images


def options(group: str) -> list[str]:
    """The selectable options of a group (files starting with `_` are shared fragments)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


def test_groups_have_the_documented_options() -> None:
    assert options("data") == ["folder", "landscape", "streaming", "synthetic"]
    assert options("model") == ["ae", "cae", "gray", "mean_ab", "unet", "vae"]
    assert options("loss") == ["classification", "composite", "l1", "mse", "ssim"]
    assert options("model/head") == ["classification", "regression"]
    assert options("loss/adversarial") == ["patchgan"]
    assert {"default", "cpu", "gpu", "debug", "ddp"} <= set(options("trainer"))
    assert {"tensorboard", "csv"} <= set(options("logger"))
    assert {"none", "plateau", "multistep", "onecycle"} <= set(options("scheduler"))
    assert {"adam", "adamw"} <= set(options("optimizer"))


def test_defaults_are_synthetic_unet_ssim(make_cfg) -> None:
    cfg = make_cfg(tiny=False)
    assert cfg.data._target_.endswith("SyntheticLandscapeDataModule")
    assert cfg.model._target_.endswith("UNet") and list(cfg.loss) == ["_target_", "ssim"]
    assert cfg.data.image_size == 64 and dict(cfg.data.splits) == {"train": 0.64, "val": 0.16, "test": 0.2}


# data=streaming reads what colorizer.prepare wrote: tests/test_streaming.py.
@pytest.mark.parametrize("option", [option for option in options("data") if option != "streaming"])
def test_data_options(make_cfg, tmp_path, option: str) -> None:
    root = tmp_path / "images"
    write_images(root / "color", 6)
    extra = [] if option == "synthetic" else [f"data.root={root}"]
    datamodule = instantiate(make_cfg(f"data={option}", *extra).data)
    assert isinstance(datamodule, LabColorizationDataModule)
    datamodule.setup()
    assert len(datamodule.loaded.names) == (24 if option == "synthetic" else 6)


@pytest.mark.parametrize("option", options("model"))
def test_model_options(make_cfg, option: str) -> None:
    net = instantiate(make_cfg(f"model={option}").model)
    assert isinstance(net, ColorizationNet)
    assert net.eval()(torch.rand(1, 1, 32, 32)).shape == (1, 2, 32, 32)


@pytest.mark.parametrize("option", options("loss"))
def test_loss_options(make_cfg, option: str) -> None:
    extra = ["loss.perceptual.pretrained=false"] if option == "composite" else []
    loss = instantiate(make_cfg(f"loss={option}", *extra).loss)
    assert isinstance(loss, CompositeLoss) and len(loss.terms) >= 1


@pytest.mark.parametrize("scheduler", options("scheduler"))
@pytest.mark.parametrize("optimizer", options("optimizer"))
def test_optimizer_and_scheduler_options(make_cfg, optimizer: str, scheduler: str) -> None:
    module = build_module(make_cfg(f"optimizer={optimizer}", f"scheduler={scheduler}"))
    assert isinstance(module, ColorizationModule)
    module.trainer = Trainer(max_epochs=-1, max_steps=7, logger=False, enable_checkpointing=False)
    configured = module.configure_optimizers()
    if scheduler == "none":
        assert isinstance(configured, torch.optim.Optimizer)
    elif scheduler == "onecycle":
        # A schedule over the whole run: stepped every batch, its length the trainer's step budget.
        assert configured["lr_scheduler"]["interval"] == "step"
        assert configured["lr_scheduler"]["scheduler"].total_steps == 7
    else:
        assert configured["lr_scheduler"]["interval"] == "epoch"
        assert configured["lr_scheduler"]["monitor"] == "val/psnr"


@pytest.mark.parametrize("option", options("trainer"))
def test_trainer_options(make_cfg, option: str) -> None:
    cfg = make_cfg(f"trainer={option}")
    if cfg.trainer.accelerator == "gpu" and not torch.cuda.is_available():
        assert cfg.trainer.precision == "bf16-mixed"
        return
    assert isinstance(build_trainer(cfg), Trainer)


@pytest.mark.parametrize("option", options("logger"))
def test_logger_options(make_cfg, option: str) -> None:
    loggers = [instantiate(c) for c in make_cfg(f"logger={option}").logger.values()]
    assert loggers and all(isinstance(logger, Logger) for logger in loggers)


@pytest.mark.parametrize("option", options("callbacks"))
def test_callback_options(make_cfg, option: str) -> None:
    callbacks = [instantiate(c) for c in make_cfg(f"callbacks={option}").callbacks.values()]
    assert callbacks and all(isinstance(callback, Callback) for callback in callbacks)


def test_unknown_option_is_refused_with_the_valid_ones(make_cfg) -> None:
    with pytest.raises(ConfigCompositionException, match="(?s)Could not find 'model/resnet'.*unet"):
        make_cfg("model=resnet")
