"""The benchmark in its smallest form: every figure is produced (how fast is for the README)."""

import json
import time

import pytest
import torch

from benchmarks.gpu import GPU_NETS
from colorizer.train import train
from tests.helpers.commands import run_command
from tests.helpers.run_if import run_if


@pytest.mark.slow
def test_bench_smoke_produces_every_figure(tmp_path) -> None:
    output = tmp_path / "bench.json"
    result = run_command("benchmarks", "--smoke", "--json", str(output), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert figures["header"]["torch_threads"] >= 1 and figures["header"]["torch"]
    for loader in figures["loader"].values():
        # Cut from the cache beats decoding every file, and converting to Lab costs something.
        assert loader["ours_uint8_img_s"] > loader["naive_img_s"] > 0
        assert loader["ours_uint8_img_s"] > loader["ours_with_lab_img_s"] > 0
    assert set(figures["training"]) == {"vae/composite@32", "cae/mse@32", "unet/ssim@32"}
    for entry in figures["training"].values():
        assert entry["lightning_img_s"] > 0 and entry["plain_img_s"] > 0 and entry["ratio"] > 0
        assert entry["step_pairs"] == 3 and entry["ratio_quartiles"][0] <= entry["ratio_quartiles"][1]
    # A share of three tiny timed steps: a figure to print, too noisy on a busy machine to bound below.
    assert figures["training"]["vae/composite@32"]["perceptual_share"] < 1
    prediction = figures["prediction"]
    assert prediction["decode_encode_floor_img_s"] > 0 and prediction["colour_table_s"] >= 0
    assert set(prediction["models"]) == {"unet", "cae", "vae", "gray (no network)"}
    # Two photos timed once: too few for "below the floor" to hold on a busy machine.
    assert all(entry["predict_img_s"] > 0 and entry["ratio"] > 0 for entry in prediction["models"].values())
    start = figures["cache_start"]
    assert 0 < start["import_s"] < start["first_step_start_s"], "the launch imports colorizer.train, then trains"
    scale = figures["scale"]["counts"]["2000"]
    assert scale["build_s"] > 0 and scale["images_per_s"] > 0 and scale["build_peak_rss_mb"] > 0
    assert 0 < scale["start_s"] and scale["epoch_s"] > 0 and figures["peak_rss_mb"] > 0
    streaming = figures["scale"]["streaming"]
    assert streaming["epoch_images"] == 1280 and streaming["prepare_s"] > 0 and streaming["streaming_vs_local"] > 0
    assert "Lightning fit vs plain PyTorch loop" in result.stdout and "Prediction, 768x512 JPEG" in result.stdout
    quality = figures["time_to_quality"]
    assert list(quality["runs"]) == ["reference", "fast", "general"] and quality["targets"] == [-40.0, -30.0]
    for run in quality["runs"].values():
        assert set(run["reached"]) == {"-40.0", "-30.0"} and run["median_step_s"] > 0 and run["steps"] > 0
        assert 0 < run["reached"]["-40.0"]["wall_s"] <= run["reached"]["-30.0"]["wall_s"] < run["wall_s"]
        assert run["test"]["gray_psnr"] > 0 and -40 < run["test"]["psnr_gain"] < 40
    assert quality["runs"]["fast"]["overrides"][0] == "experiment=landscape_fast"
    assert quality["runs"]["general"]["overrides"][0] == "experiment=general_fast"
    assert "Time to quality" in result.stdout
    app = figures["app"]
    assert app["photos"] == 2 and 0 < app["direct_s"] and 0 < app["served_s"] <= app["served_max_s"]
    assert "through the served page" in result.stdout
    video = figures["video"]
    assert set(video["quality"]) == {"pan", "zoom", "cut"} and video["frames"] == 8
    for rows in video["quality"].values():
        assert set(rows) == {"truth", "frame by frame", "stabilised"}
        assert all(row["flicker"] > 0 for row in rows.values())
    pan = video["quality"]["pan"]
    assert pan["stabilised"]["flicker"] < pan["frame by frame"]["flicker"]
    assert abs(pan["stabilised"]["psnr_gain"] - pan["frame by frame"]["psnr_gain"]) < 0.5
    assert all(rate > 0 for rate in video["speed"].values())
    assert "Video, generated clips of 8 frames" in result.stdout


@pytest.mark.slow
def test_bench_runs_only_the_sections_asked_for(tmp_path) -> None:
    output = tmp_path / "bench.json"
    result = run_command("benchmarks", "--smoke", "--sections", "scale", "--json", str(output), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert list(figures["seconds"]) == ["scale"] and "loader" not in figures and "time_to_quality" not in figures
    wrong = run_command("benchmarks", "--smoke", "--sections", "speed", timeout=120)
    assert wrong.returncode == 2 and "unknown section(s) speed" in wrong.stderr


def test_first_step_timer_reports_when_training_started(make_cfg, tmp_path) -> None:
    report = tmp_path / "first_step.json"
    launched = time.time()
    cfg = make_cfg(
        "+callbacks.first_step._target_=benchmarks.first_step_timer.FirstStepTimer",
        f"+callbacks.first_step.launched_at={launched}",
        f"+callbacks.first_step.report={report}",
    )
    train(cfg)
    figures = json.loads(report.read_text())
    assert 0 < figures["first_step_start_s"] <= figures["first_step_end_s"] <= time.time() - launched


@pytest.mark.slow
def test_the_gpu_check_runs_in_its_reduced_form_on_the_cpu(tmp_path) -> None:
    """`--sections gpu` is what a session lent a GPU runs once: every part must work here first."""
    output = tmp_path / "gpu.json"
    result = run_command("benchmarks", "--smoke", "--sections", "gpu", "--json", str(output), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    gpu = json.loads(output.read_text())["gpu"]
    assert gpu["errors"] == {}, gpu["errors"]
    assert set(gpu["nets"]) == {f"{name}@32" for name in GPU_NETS}
    for runs in gpu["nets"].values():
        for precision in ("32-true", "bf16-mixed"):
            assert runs[precision]["img_s"] > 0 and runs[precision]["losses_finite"] and runs[precision]["psnr"] > 5
        assert runs["psnr_difference"] < 1.0, "bf16 trains the same net as fp32"
    assert all(entry["ratio"] > 0 for entry in gpu["lightning"].values())
    assert 0 <= gpu["busy"]["data_wait_share"] < 1 and gpu["busy"]["busy_percent"] is None, "no GPU to read here"
    assert gpu["compile"]["compile_first_step_s"] > 0 and gpu["compile"]["speed_up"] > 0
    assert gpu["predict"]["device"]["models"]["unet"]["predict_img_s"] > 0
    assert gpu["resume"]["max_test_difference"] < 1e-4 and gpu["resume"]["test_metrics"] > 10
    best = gpu["quality"]["runs"]["best"]
    assert best["overrides"][0] == "experiment=landscape_best" and set(best["reached"]) == {"-40.0", "-30.0"}
    table = output.with_suffix(".md").read_text()
    assert "| encoder_unet/mse@32 |" in table and "torch.compile: first step" in table and "and resume" in table


@pytest.mark.slow
@run_if(module="litserve")
def test_the_serve_load_test_and_soak_run_in_their_reduced_form(tmp_path) -> None:
    output = tmp_path / "serve.json"
    result = run_command(
        "benchmarks", "--smoke", "--sections", "serve", "--serve-set", "threads=2", "--json", str(output), timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    serve = json.loads(output.read_text())["serve"]
    assert serve["overrides"] == ["threads=2"] and "default U-Net, with threads=2" in result.stdout
    assert {name: server["threads"] for name, server in serve["servers"].items()} == {"batched": 2, "unbatched": 2}
    assert serve["servers"]["batched"]["max_batch_size"] == 16 and serve["servers"]["unbatched"]["max_batch_size"] == 1
    assert "2 torch threads in the inference worker" in result.stdout
    for level in serve["levels"].values():
        for mode in ("batched", "unbatched"):
            assert level[mode]["errors"] == 0 and level[mode]["images_per_s"] > 0
            assert level[mode]["p50_ms"] <= level[mode]["p99_ms"] and level[mode]["network_ms_per_image"] > 0
            assert 0 < level[mode]["client_cpu_share"] < 1
    soak = serve["soak"]
    assert soak["good"] > 0 and soak["bad"] > 0 and soak["wrong"] == 0 and soak["errors"] == 0 and soak["healthy"]
    assert len(soak["rss_mb"]) >= 2 and soak["rss_start_mb"] > 100, "the server's processes were measured"
    assert serve["predict_images_per_s"] > 0 and "Soak:" in result.stdout


@pytest.mark.slow
def test_quality_timer_records_targets_and_stops_at_the_last(make_cfg, tmp_path) -> None:
    report = tmp_path / "quality.json"
    launched = time.time()

    def timed(targets: str):
        return make_cfg(
            "trainer.max_epochs=4",
            "model=cae",
            "loss=mse",
            "+callbacks.quality._target_=benchmarks.quality_timer.QualityTimer",
            f"+callbacks.quality.launched_at={launched}",
            f"+callbacks.quality.targets={targets}",
            f"+callbacks.quality.report={report}",
            "+callbacks.quality.stop_at_last=true",
        )

    train(timed("[-60.0,-50.0,1000.0]"))
    figures = json.loads(report.read_text())
    # Nothing reaches +1000 dB, so the run goes on for all 4 epochs: one validation after each.
    steps = [point["step"] for point in figures["history"]]
    assert len(steps) == 4 and steps == [steps[0] * epoch for epoch in (1, 2, 3, 4)]
    assert set(figures["reached"]) == {"-60.0", "-50.0"} and figures["reached"]["-60.0"] == figures["history"][0]
    assert 0 < figures["history"][0]["wall_s"] < figures["history"][-1]["wall_s"] <= time.time() - launched
    assert figures["median_step_s"] > 0 and figures["steps_timed"] == steps[-1]

    train(timed("[-60.0]"))  # reached at the first validation: the run stops there
    assert [point["step"] for point in json.loads(report.read_text())["history"]] == steps[:1]


@pytest.mark.parametrize(
    "overrides", [["model=unet", "loss=mse_ssim"], ["model=unet", "model/head=classification", "loss=classification"]]
)
def test_the_plain_loop_computes_the_modules_loss(overrides, tmp_path) -> None:
    """The bench's hand-written loop must train what Lightning trains: on the same batch and
    weights its loss equals `ColorizationModule.score`'s, term by term (the classification loss
    needs the net's class logits, which an earlier copy of the loop left out)."""
    from hydra.utils import instantiate

    from benchmarks.training import PlainLoop
    from colorizer.data.transforms import lab_batch
    from colorizer.training.build import build_module
    from tests.helpers.config import TINY, compose_config

    cfg = compose_config([*TINY, *overrides], tmp_path / "run")
    torch.manual_seed(0)
    module = build_module(cfg)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    loop = PlainLoop(module.net, module.loss, datamodule, torch.device("cpu"), instantiate(cfg.optimizer))
    batch = lab_batch(next(iter(datamodule.train_dataloader())))
    torch.manual_seed(1)  # the same dropout masks for both
    expected, _ = module.score(batch)
    torch.manual_seed(1)
    actual = loop.loss_of(batch)
    assert set(actual.terms) == set(expected.terms) and actual.terms
    for name, value in expected.terms.items():
        assert torch.allclose(actual.terms[name], value), name
    assert torch.allclose(actual.total, expected.total)
