"""Resume after a kill, NaN losses, damaged files and caches, bad configs."""

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from PIL import Image

from colorizer.config import ConfigError
from colorizer.train import train
from colorizer.training.checkpointing import AtomicCheckpointIO, resolve_resume
from colorizer.training.module import NonFiniteLossError
from tests.helpers.commands import assert_same_test_metrics, kill_at_step, run_command, start_command
from tests.helpers.config import REPO
from tests.helpers.drill import DRILL_RUN
from tests.helpers.images import bomb_png

STEPS_PER_EPOCH = 6  # 41 training images in batches of 8


# Also with what the fast preset adds (a per-step one-cycle schedule and the half-size epochs) and
# the weights' moving average, and
# with a classification head, the adversarial term (two optimisers, stepped by the module) and
# simulated hints (drawn from the restored RNG), and
# with a pretrained-encoder net (and its hints' own encoder) killed while its encoder is still frozen.
@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["scheduler=onecycle", "optimizer.lr=3e-3", "data.half_size_epochs=2", "callbacks=ema"],
        [
            "model/head=classification",
            "loss=classification",
            "loss/adversarial=patchgan",
            "loss.adversarial.warmup_steps=4",
            "scheduler=onecycle",
            "model.hints=true",
        ],
        pytest.param(
            [
                "model=encoder_unet",
                "model.encoder.weights=none",
                "model.encoder.freeze_epochs=2",
                "data.image_size=64",
                "model.decoder_base_width=8",
                "model.encoder.lr_mult=0.3",
                "scheduler=onecycle",
                "model.hints=true",
            ],
        ),
    ],
    ids=["default", "fast", "classification_adversarial_hints", "encoder_unet_frozen_then_trained"],
)
@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path, extra: list[str]) -> None:
    cache = f"paths.cache_dir={tmp_path / 'cache'}"
    run = [*DRILL_RUN, *extra]
    whole = start_command("train", *run, cache, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.wait(timeout=600) == 0, whole.stderr.read()[-3000:]
    kill_at_step([*run, cache], tmp_path / "killed", STEPS_PER_EPOCH + 3)  # the middle of the second epoch
    resumed = start_command("train", *run, cache, f"resume={tmp_path / 'killed'}")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()[-3000:]
    assert_same_test_metrics(tmp_path / "whole", tmp_path / "killed")
    assert len(list((tmp_path / "killed" / "tensorboard").glob("events.out.tfevents.*"))) >= 2, "TB continues there"


def test_a_damaged_last_checkpoint_falls_back_to_the_previous_good_one(tmp_path, caplog) -> None:
    folder = tmp_path / "checkpoints"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, folder / "best-epoch003.ckpt")
    io.save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, folder / "last.ckpt")
    data = (folder / "last.ckpt").read_bytes()
    (folder / "last.ckpt").write_bytes(data[: len(data) // 2])
    # Which one is newer is set, not left to the clock's resolution.
    os.utime(folder / "best-epoch003.ckpt", ns=(1_000_000_000, 1_000_000_000))
    os.utime(folder / "last.ckpt", ns=(2_000_000_000, 2_000_000_000))
    assert resolve_resume(folder, "last") == str(folder / "best-epoch003.ckpt")
    assert "last.ckpt is damaged" in caplog.text
    assert resolve_resume(folder, None) is None
    assert resolve_resume(tmp_path / "none", "last") is None


def test_checkpoints_are_written_whole_or_not_at_all(tmp_path, monkeypatch) -> None:
    target = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, target)
    before = target.read_bytes()

    def interrupted(obj, handle, *args, **kwargs):
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"], "no temporary file is left"


@pytest.mark.slow
def test_a_non_finite_loss_stops_training_and_keeps_finished_work(make_cfg) -> None:
    # Epoch 0 trains normally; then the learning rate jumps by 1e12 and the loss goes NaN.
    cfg = make_cfg(
        "model=cae",
        "loss=mse",
        "data.source.num_images=40",
        "trainer.max_epochs=3",
        "scheduler=multistep",
        "scheduler.milestones=[1]",
        "scheduler.gammas=[1e12]",
    )
    with pytest.raises(NonFiniteLossError, match=r"non-finite at global step \d+ \(epoch 1\): mse=nan"):
        train(cfg)
    run = Path(cfg.paths.output_dir)
    good = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert good["epoch"] == 0 and all(
        torch.isfinite(v).all() for v in good["state_dict"].values() if v.is_floating_point()
    )
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def make_damaged_files(folder: Path, rng: random.Random) -> tuple[set[str], set[str]]:
    """Over 500 damaged files beside a few good ones: (good names, surely-bad names).
    Bit-flipped files may or may not decode; they are neither."""
    folder.mkdir(parents=True)
    originals = {}
    for index in range(4):
        pixels = np.random.default_rng(index).integers(0, 255, (48, 64, 3), dtype=np.uint8)
        pixels[:, :, 0] = np.linspace(0, 255, 64, dtype=np.uint8)
        for extension, options in ((".jpg", {"quality": 90}), (".png", {}), (".webp", {"quality": 80})):
            buffer = folder / f"good{index}{extension}"
            Image.fromarray(pixels).save(buffer, **options)
            originals[buffer.name] = buffer.read_bytes()
    good, bad = set(originals), set()
    for round_ in range(56):
        for name, data in originals.items():
            stem, extension = name.rsplit(".", 1)
            cut = folder / f"cut{round_}_{stem}.{extension}"
            cut.write_bytes(data[: rng.randrange(1, max(2, len(data) // 3))])
            bad.add(cut.name)
            flipped = bytearray(data)
            for _ in range(rng.randint(1, 20)):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            (folder / f"flip{round_}_{stem}.{extension}").write_bytes(bytes(flipped))
    for index in range(10):
        (folder / f"zero{index}.png").write_bytes(b"")
        (folder / f"text{index}.jpg").write_text("not an image at all")
        bad |= {f"zero{index}.png", f"text{index}.jpg"}
    (folder / "png_named.jpg").write_bytes(originals["good0.png"])  # wrong extension, still an image
    good.add("png_named.jpg")
    bomb_png(folder / "bomb.png")
    (folder / "x.jpg").mkdir()
    (folder / "dangling.png").symlink_to(folder / "nowhere.png")
    bad |= {"bomb.png", "x.jpg", "dangling.png"}
    return good, bad


FUZZ_LOAD = """
import json, sys
from colorizer.data.datamodule import CachedDataModule
from colorizer.data.folder_source import FolderSource
datamodule = CachedDataModule(FolderSource(sys.argv[1]), image_size=32, cache_dir=None)
datamodule.setup()
loaded = datamodule.loaded
print(json.dumps({"used": loaded.names, "skipped": loaded.skipped, "colorless": loaded.colorless}))
"""


@pytest.mark.slow
def test_fuzzed_files_through_the_data_module_and_predict(tmp_path, trained_checkpoints) -> None:
    folder = tmp_path / "fuzz"
    good, bad = make_damaged_files(folder, random.Random(0))
    everything = {p.name for p in folder.iterdir()}
    assert len(everything) - len(good) >= 500

    start = time.monotonic()
    loaded = subprocess.run(
        [sys.executable, "-c", FUZZ_LOAD, str(folder)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    result = json.loads(loaded.stdout.strip().splitlines()[-1])
    used, skipped = set(result["used"]), {name for name, _ in result["skipped"]}
    colorless = set(result["colorless"])  # a flipped bit can decode to a gray image: left out and listed
    assert used | skipped | colorless == everything, "every file is used, or named as skipped or colourless"
    assert not used & skipped and not used & colorless
    assert good <= used and bad <= skipped
    assert all(reason for _, reason in result["skipped"])

    predicted = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorizer.predict",
            f"ckpt_path={trained_checkpoints['cae']}",
            f"input={folder}",
            f"output={tmp_path / 'out'}",
            f"hydra.run.dir={tmp_path / 'log'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert predicted.returncode == 1
    failed = {
        line.split("FAILED  ", 1)[1].split(":", 1)[0] for line in predicted.stdout.splitlines() if "FAILED" in line
    }
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {Path(p).name for p in failed} | written == everything
    assert good <= written and not bad & written
    assert time.monotonic() - start < 600


@pytest.mark.slow
def test_two_processes_build_the_same_cache_at_once(tmp_path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(40):
        Image.fromarray(np.full((40, 40, 3), (index * 5, 100, 200 - index), np.uint8)).save(folder / f"{index}.png")
    script = (
        "import sys\nfrom colorizer.data.cache import load_cached\n"
        "from colorizer.data.folder_source import FolderSource\n"
        "print(load_cached(FolderSource(sys.argv[1]), 24, sys.argv[2]).images.sum().item())\n"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(folder), str(tmp_path / "cache")],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err[-2000:] for _, err in outputs]
    assert outputs[0][0] == outputs[1][0]
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1 and not list((tmp_path / "cache").glob(".*tmp"))
    again = subprocess.run(
        [sys.executable, "-c", script, str(folder), str(tmp_path / "cache")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.stdout == outputs[0][0] and "Decoding" not in again.stderr


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["data=folder"], "data.source.root"),
        (["model=vae", "model.image_size=64", "data.image_size=48"], "cannot take data.image_size=48"),
        (
            ["++loss.perceptual.pretrained=false"],
            r"loss.perceptual is not a loss term this loss has \(its terms: mse, ssim\)",
        ),
        (["optimizer.lr=abc"], r"optimizer.lr='abc' is not a float"),
        (["data.batch_size=1.5"], r"data.batch_size=1.5 is not an int"),
        (["loss.ssim.weight=heavy"], r"loss.ssim.weight='heavy' is not a float"),
        (["model.base_width=-3"], r"model.base_width=-3 is out of range: a width, at least 1"),
        (["model.encoder_dropout=[0.1,1.5]"], r"model.encoder_dropout=\[0.1, 1.5\] is out of range: a fraction"),
        (["data.crop_scale=0.0"], r"data.crop_scale=0.0 is out of range: a fraction, 0 < crop_scale"),
        (["data.train_fraction=1.5"], r"data.train_fraction=1.5 is out of range: a fraction, 0 < train_fraction"),
        (["data.num_workers=-1"], r"data.num_workers=-1 is out of range: a count, at least 0"),
    ],
)
def test_a_bad_setting_stops_before_training_with_what_to_change(make_cfg, overrides, message) -> None:
    with pytest.raises(ConfigError, match=message):
        train(make_cfg(*overrides))
    assert not (Path(make_cfg().paths.output_dir) / "checkpoints").exists(), "nothing was trained"


def test_bad_configs_stop_before_training_with_what_to_change(make_cfg, tmp_path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    cfg = make_cfg()
    cfg.paths.output_dir = str(blocker / "run")
    with pytest.raises(ConfigError, match="Cannot write to the output folder"):
        train(cfg)
    # Raised while Hydra builds the data module, so Hydra wraps them; the message is kept.
    with pytest.raises(InstantiationException, match="add up to 1.26"):
        train(make_cfg("data.splits.train=0.9"))
    with pytest.raises(InstantiationException, match="data.fold=3"):
        train(make_cfg("data.num_folds=3", "data.fold=3"))
    assert not (Path(make_cfg().paths.output_dir) / "checkpoints").exists(), "nothing was trained"


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, expected",
    [
        ("model.base_width=-3", "model.base_width=-3 is out of range"),
        ("optimizer.lr=abc", "is not a float"),
        ("data.splits.train=0.9", "add up to 1.26"),
    ],
)
def test_cli_says_a_config_mistake_in_one_line_with_exit_code_2(override, expected, tmp_path) -> None:
    result = run_command("train", override, f"hydra.run.dir={tmp_path}", timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("colorizer.train: ") and expected in lines[0], result.stderr


@pytest.mark.slow
def test_cli_reports_an_unknown_option_with_the_valid_ones(tmp_path) -> None:
    result = run_command("train", "loss=ssmi", f"hydra.run.dir={tmp_path}", timeout=120)
    assert result.returncode != 0
    assert "Could not find 'loss/ssmi'" in result.stderr and "ssim" in result.stderr


@pytest.mark.slow
def test_last_checkpoint_is_the_last_epoch_even_when_it_did_not_improve(make_cfg) -> None:
    # The gray baseline's psnr is the same every epoch: no epoch after the first counts as better.
    cfg = make_cfg("trainer.max_epochs=3", "monitor=val/gray_psnr")
    metrics = train(cfg)
    last = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["epoch"] == 2 and last["global_step"] == 3 * 2, "resuming starts after the third epoch"
    assert Path(metrics["best_checkpoint"]).name == "best-epoch000.ckpt"
