"""`init_from` (weights only, unlike a resume) and staged recipes: several runs from one command."""

import json
from pathlib import Path

import pytest
import torch

from colorizer.config import ConfigError
from colorizer.inference.checkpoints import CheckpointError, read_checkpoint
from colorizer.train import train
from colorizer.training.stages import plan_stages


def net_weights(path: Path) -> dict[str, torch.Tensor]:
    return {k: v for k, v in read_checkpoint(path)["state_dict"].items() if k.startswith("net.")}


def test_init_from_loads_the_weights_and_starts_optimizer_and_epoch_fresh(make_cfg, tmp_path: Path) -> None:
    first = make_cfg("loss=mse", "trainer.max_epochs=2")
    first_ckpt = Path(train(first)["best_checkpoint"])
    source = net_weights(first_ckpt)

    # With a learning rate of 0 the trained weights stay exactly those loaded (batch-norm statistics still move).
    second = make_cfg("loss=mse", "trainer.max_epochs=1", f"init_from={first_ckpt}", "optimizer.lr=0")
    second.paths.output_dir = str(tmp_path / "second")
    train(second)

    after = read_checkpoint(tmp_path / "second" / "checkpoints" / "last.ckpt")
    learned = [k for k in source if "running_" not in k and "num_batches" not in k]
    assert learned
    for key in learned:
        assert torch.equal(after["state_dict"][key], source[key]), key
    # Fresh, unlike a resume: the epoch and step counts and the optimiser's own step count.
    steps_per_epoch = read_checkpoint(first_ckpt)["global_step"] // (read_checkpoint(first_ckpt)["epoch"] + 1)
    assert after["epoch"] == 0
    assert after["global_step"] == steps_per_epoch
    adam_steps = {int(s["step"]) for s in after["optimizer_states"][0]["state"].values()}
    assert adam_steps == {steps_per_epoch}


def test_init_from_a_checkpoint_of_another_net_names_the_mismatch(make_cfg, tmp_path: Path) -> None:
    first = make_cfg("loss=mse", "model=cae")
    cae_ckpt = Path(train(first)["best_checkpoint"])
    second = make_cfg("loss=mse", f"init_from={cae_ckpt}")
    second.paths.output_dir = str(tmp_path / "second")
    with pytest.raises(CheckpointError, match=r"init_from=.*another net: \d+ missing \(e\.g\. "):
        train(second)


def test_stages_run_in_turn_each_from_the_previous_best_and_resume_after_a_kill(make_cfg) -> None:
    cfg = make_cfg(
        "loss=mse",
        "++stages.small.data.image_size=16",
        "++stages.small.trainer.max_epochs=1",
        "++stages.full.trainer.max_epochs=2",
    )
    run = Path(cfg.paths.output_dir)
    metrics = train(cfg)

    small = json.loads((run / "small" / "metrics.json").read_text())
    full = json.loads((run / "full" / "metrics.json").read_text())
    assert read_checkpoint(run / "small" / "checkpoints" / "last.ckpt")["colorizer_config"]["data"]["image_size"] == 16
    assert read_checkpoint(run / "full" / "checkpoints" / "last.ckpt")["colorizer_config"]["data"]["image_size"] == 32
    assert (
        read_checkpoint(run / "full" / "checkpoints" / "last.ckpt")["colorizer_config"]["init_from"]
        == (small["best_checkpoint"])
    )
    assert metrics["test/psnr"] == pytest.approx(full["test/psnr"])
    assert set(metrics["stages"]) == {"small", "full"}
    assert json.loads((run / "metrics.json").read_text())["stages"]["small"]["test/psnr"] == small["test/psnr"]

    # A kill during the second stage: its metrics.json was never written. Running again skips the
    # finished first stage and resumes the second from its last.ckpt.
    (run / "full" / "metrics.json").unlink()
    small_mtime = (run / "small" / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    resumed = train(cfg)
    assert (run / "small" / "checkpoints" / "last.ckpt").stat().st_mtime_ns == small_mtime
    assert (run / "full" / "metrics.json").is_file()
    assert read_checkpoint(run / "full" / "checkpoints" / "last.ckpt")["epoch"] == 1
    assert resumed["stages"]["full"]["test/psnr"] == pytest.approx(full["test/psnr"], abs=1e-4)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ({"small": {"dataa": {"image_size": 16}}}, r"stages\.small\.dataa is not a key"),
        ({"small": {"data": {"image_sise": 16}}}, r"stages\.small\.data\.image_sise is not a key"),
        ({"small": 3}, r"stages\.small must be a mapping"),
    ],
)
def test_a_wrong_stage_is_named(make_cfg, tmp_path: Path, stages: dict, message: str) -> None:
    cfg = make_cfg()
    cfg.stages = stages
    with pytest.raises(ConfigError, match=message):
        plan_stages(cfg, tmp_path)


def test_a_stage_unsetting_a_key_the_run_lacks_changes_nothing(make_cfg, tmp_path: Path) -> None:
    # general_fast's second stage sets data.source.train_only_root: null; data=synthetic has no such key.
    cfg = make_cfg()
    cfg.stages = {"detail": {"data": {"source": {"train_only_root": None}, "image_size": 16}}}
    (stage,) = plan_stages(cfg, tmp_path)
    assert "train_only_root" not in stage.config.data.source and stage.config.data.image_size == 16
    assert stage.folder == tmp_path / "detail" and stage.config.paths.output_dir == str(tmp_path / "detail")


def test_the_general_presets_stages_build_what_their_figures_came_from(make_cfg, tmp_path: Path) -> None:
    """general_hints: a hints net, 12 epochs of stage two, the final epoch kept (no monitor);
    general_best: three epochs of stage one at 64 px with the small photos, six at 192 px without."""
    from hydra.utils import instantiate

    roots = ["data.source.root=[/photos/a,/photos/b]", "data.source.train_only_root=/photos/small"]
    hints = plan_stages(make_cfg("experiment=general_hints", *roots, tiny=False), tmp_path / "hints")
    assert [stage.folder.name for stage in hints] == ["semantics", "detail"]
    for stage, epochs in zip(hints, (1, 12), strict=True):
        checkpoint = instantiate(stage.config.callbacks.model_checkpoint)
        assert checkpoint.monitor is None and stage.config.trainer.max_epochs == epochs
        assert stage.config.model.hints is True
    best = plan_stages(make_cfg("experiment=general_best", *roots, tiny=False), tmp_path / "best")
    shape = [
        (s.config.data.image_size, s.config.trainer.max_epochs, s.config.data.source.get("train_only_root"))
        for s in best
    ]
    assert shape == [(64, 3, "/photos/small"), (192, 6, None)]
    assert instantiate(best[1].config.callbacks.model_checkpoint).monitor == "val/psnr", "best on validation"
