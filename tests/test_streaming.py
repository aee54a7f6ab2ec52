"""`colorizer.prepare` + `data=streaming`: the same splits as the local cache, training, exact
resume mid-epoch after a kill, and DDP ranks reading disjoint shares."""

import hashlib
import math
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import open_dict

from tests.helpers.run_if import needs

needs("litdata")

from colorizer.data.transforms import lab_batch  # noqa: E402
from colorizer.evaluation.scoring import evaluate_models  # noqa: E402
from colorizer.models import GrayBaseline  # noqa: E402
from colorizer.prepare import prepare  # noqa: E402
from colorizer.train import train  # noqa: E402
from tests.helpers.commands import assert_same_test_metrics, kill_at_step, start_command  # noqa: E402
from tests.helpers.config import compose_config  # noqa: E402

SOURCE = ["data=synthetic", "data.source.num_images=120", "data.image_size=32"]
# 77 training images in batches of 8: 10 steps per epoch, the last one short.
STREAM = ["data=streaming", "data.image_size=32", "data.batch_size=8", "model=cae", "loss=mse"]


def image_hashes(images: torch.Tensor) -> list[str]:
    return [hashlib.sha1(image.numpy().tobytes()).hexdigest() for image in images]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, object]:
    """120 synthetic landscapes prepared as LitData chunks, and the cached data module they came from."""
    folder = tmp_path_factory.mktemp("streaming")
    cfg = compose_config([*SOURCE, f"output_dir={folder / 'chunks'}"], folder, "prepare")
    info = prepare(cfg)
    assert info["counts"] == {"train": 77, "val": 19, "test": 24}
    cached = instantiate(cfg.data)
    cached.setup()
    return folder / "chunks", cached


def streaming_module(root: Path, **overrides):
    cfg = compose_config([*STREAM, f"data.root={root}"], root.parent / "run")
    with open_dict(cfg):
        cfg.data.stream_cache_dir = None
        cfg.data.update(overrides)
    module = instantiate(cfg.data)
    module.setup()
    return module


def test_prepared_splits_are_the_local_caches_splits(prepared) -> None:
    root, cached = prepared
    streamed = streaming_module(root)
    for split in ("train", "val", "test"):
        images = streamed.split_images(split)
        assert images.dtype == torch.uint8 and images.shape == (cached.split_size(split), 3, 32, 32)
        assert sorted(image_hashes(images)) == sorted(image_hashes(cached.split_images(split))), split
        assert sorted(streamed.split_names(split)) == sorted(cached.split_names(split)), split
    # The validation loader yields exactly the split, in the order split_names gives.
    batches = torch.cat(list(streamed.loader("val")))
    assert image_hashes(batches) == image_hashes(streamed.split_images("val"))
    names = dict(zip(image_hashes(cached.split_images("val")), cached.split_names("val"), strict=True))
    assert [names[h] for h in image_hashes(batches)] == streamed.split_names("val")
    # The mean ab from 1024 spaced training images is the cached module's (77 images: all of them).
    assert torch.allclose(streamed.train_mean_ab(), cached.train_mean_ab(), atol=1e-6)


def test_a_wrong_image_size_or_a_missing_prepare_is_explained(prepared, tmp_path) -> None:
    root, _ = prepared
    with pytest.raises(ValueError, match=r"prepared at 32x32.*data.image_size=32"):
        streaming_module(root, image_size=64)
    with pytest.raises(FileNotFoundError, match="python -m colorizer.prepare"):
        streaming_module(tmp_path)


@pytest.mark.slow
def test_training_from_streaming_scores_the_same_test_images(prepared, make_cfg) -> None:
    root, cached = prepared
    cfg = make_cfg(*STREAM, f"data.root={root}", "trainer.max_epochs=2", tiny=False)
    metrics = train(cfg)
    last = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["global_step"] == 20, "two epochs of 10 steps (77 images in batches of 8)"
    gray = evaluate_models({"gray": GrayBaseline()}, cached, "test", torch.device("cpu")).summary["gray"]
    assert metrics["test/gray_psnr"] == pytest.approx(gray["psnr"], abs=1e-4)
    assert math.isfinite(metrics["test/psnr"]) and metrics["test/psnr"] > 5
    assert (Path(cfg.paths.output_dir) / "skipped_files.tsv").read_text().startswith("file\treason")


@pytest.mark.slow
def test_streaming_resume_mid_epoch_after_a_kill_is_exact(prepared, tmp_path) -> None:
    root, _ = prepared
    run = [
        *STREAM,
        f"data.root={root}",
        "trainer.max_epochs=3",
        "trainer.deterministic=true",
        "trainer.enable_progress_bar=false",
        f"paths.cache_dir={tmp_path / 'cache'}",
        "+callbacks.last_checkpoint.every_n_train_steps=4",
    ]
    whole = start_command("train", *run, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.wait(timeout=600) == 0, whole.stderr.read()[-3000:]
    # Killed at step 15, in the middle of the second epoch: last.ckpt was written after step 12.
    kill_at_step(run, tmp_path / "killed", 15)
    last = torch.load(tmp_path / "killed" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["global_step"] == 12 and last["loops"]["fit_loop"]["state_dict"]["combined_loader"]

    resumed = start_command("train", *run, f"resume={tmp_path / 'killed'}")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()[-3000:]
    assert_same_test_metrics(tmp_path / "whole", tmp_path / "killed")
    # A resumed epoch that started over would have ended at step 32 (with other weights).
    steps = [
        torch.load(tmp_path / name / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["global_step"]
        for name in ("whole", "killed")
    ]
    assert steps == [28, 28], steps


@pytest.mark.slow
def test_ddp_ranks_train_on_disjoint_shares(prepared, make_cfg, tmp_path) -> None:
    root, cached = prepared
    seen = tmp_path / "seen"
    cfg = make_cfg(
        *STREAM,
        f"data.root={root}",
        "data.flip=false",
        "trainer=ddp",
        "trainer.strategy=ddp_spawn",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "+callbacks.record._target_=tests.helpers.hydra_targets.RecordTrainImages",
        f"+callbacks.record.folder={seen}",
        tiny=False,
    )
    train(cfg)
    shares = [set((seen / f"rank{rank}.txt").read_text().split()) for rank in (0, 1)]
    assert all(len(share) >= 32 for share in shares), [len(share) for share in shares]
    assert not shares[0] & shares[1], "two ranks trained on the same image"
    every = {hashlib.sha1(L.numpy().tobytes()).hexdigest() for L in lab_batch(cached.split_images("train"))["L"]}
    assert shares[0] | shares[1] <= every
    assert len(shares[0] | shares[1]) >= len(every) - 2 * 8, "each rank drops at most a short last batch"
