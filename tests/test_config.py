"""Every option of every config group composes and instantiates."""

import pytest
import torch
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.loggers import Logger

from colorizer.data.datamodule import CachedDataModule
from colorizer.losses import CompositeLoss
from colorizer.models.base import ColorizationNet
from colorizer.training.build import build_module, build_trainer
from colorizer.training.module import ColorizationModule
from tests.helpers.config import CONF_DIR, REPO
from tests.helpers.images import write_images

README = REPO / "README.md"


def options(group: str) -> list[str]:
    """The selectable options of a group (files starting with `_` are shared fragments)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


def readme_row(first_cell: str) -> str:
    """The README table row whose first cell is `first_cell`."""
    rows = [line for line in README.read_text().splitlines() if line.startswith(f"| `{first_cell}` |")]
    assert rows, f"the README has no table row for {first_cell}"
    return rows[0]


@pytest.mark.parametrize(
    "group", ["data", "model", "loss", "optimizer", "scheduler", "trainer", "logger", "callbacks", "hparams_search"]
)
def test_every_option_is_in_the_readmes_configuration_table(group: str) -> None:
    row = readme_row(group)
    assert options(group), group
    for option in options(group):
        assert f"`{option}`" in row, f"{group}={option} is missing from the README's configuration table"


def test_every_preset_is_in_the_readmes_preset_table() -> None:
    for preset in options("experiment"):
        readme_row(preset)


def test_the_default_run_trains_a_unet_with_mse_and_ssim_on_synthetic_landscapes(make_cfg) -> None:
    """What `python -m colorizer.train` builds, read off the objects, not the YAML."""
    from colorizer.data.sources import SyntheticSource
    from colorizer.losses import MSELoss, SSIMLoss
    from colorizer.models import UNet

    cfg = make_cfg("data.source.num_images=50", tiny=False)  # the default's 1,000 images, fewer
    module, datamodule = build_module(cfg), instantiate(cfg.data)
    assert isinstance(module.net, UNet) and isinstance(datamodule.source, SyntheticSource)
    assert {type(term) for term in module.loss.terms.values()} == {MSELoss, SSIMLoss}
    datamodule.setup()
    images = next(iter(datamodule.train_dataloader()))
    assert images.dtype == torch.uint8 and images.shape[1:] == (3, 64, 64)
    sizes = {split: datamodule.split_size(split) for split in ("train", "val", "test")}
    assert sizes == {"train": 32, "val": 8, "test": 10}


# data=streaming reads what colorizer.prepare wrote: tests/test_streaming.py.
@pytest.mark.parametrize("option", [option for option in options("data") if option != "streaming"])
def test_data_options(make_cfg, tmp_path, option: str) -> None:
    root = tmp_path / "images"
    write_images(root / "color", 6)
    extra = [] if option == "synthetic" else [f"data.source.root={root}"]
    datamodule = instantiate(make_cfg(f"data={option}", *extra).data)
    assert isinstance(datamodule, CachedDataModule)
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
    cfg = make_cfg(f"loss={option}", *extra)
    loss = instantiate(cfg.loss)
    assert isinstance(loss, CompositeLoss)
    assert list(loss.terms) == [name for name in cfg.loss if name != "_target_"], "every configured term is built"


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
        # Without a GPU the gpu trainer must refuse to start, not fall back to the CPU unnoticed.
        with pytest.raises(MisconfigurationException, match="(?i)gpu"):
            build_trainer(cfg)
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


@pytest.mark.parametrize("option", ["synthetic", "folder", "landscape"])
def test_the_configs_data_defaults_are_the_python_ones(make_cfg, option: str) -> None:
    """A data module built by the config and one built in Python without it split the same way
    and keep the same share in RAM: the two sources of these defaults agree."""
    from colorizer.data.defaults import RAM_BUDGET_GB, SPLIT_FRACTIONS

    data = make_cfg(f"data={option}", *([] if option == "synthetic" else ["data.source.root=unused"])).data
    assert dict(data.splits) == SPLIT_FRACTIONS and data.ram_budget_gb == RAM_BUDGET_GB
