import re
import subprocess
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from colorizer.data.transforms import lab_batch
from colorizer.evaluate import run_evaluation
from colorizer.export import export_checkpoint
from colorizer.inference import load_colorizer
from tests.helpers.config import evaluate_cfg
from tests.helpers.run_if import chromium_path, needs
from tests.helpers.servers import CHROMIUM_FLAGS

# Appended to a copy of the report: after load, the title tells how many images really decoded.
IMAGE_PROBE = """<script>window.addEventListener("load", () => {
  const images = [...document.images];
  const loaded = images.filter((image) => image.complete && image.naturalWidth > 0).length;
  document.title = `loaded ${loaded} of ${images.length}`;
});</script>"""


@pytest.fixture
def report(trained_checkpoints, tmp_path) -> Path:
    cfg = evaluate_cfg(tmp_path, f"ckpt_path={trained_checkpoints['unet']}", "report=true", "report_max_images=5")
    _, extra = run_evaluation(cfg)
    return Path(extra["report"])


def test_report_is_self_contained_and_sorted_worst_first(report) -> None:
    page = report.read_text()
    assert "http://" not in page and "https://" not in page, "no network needed"
    rows = page.count('class="image-row"')
    assert rows == 5
    assert page.count('class="image-row"><td>') == rows
    # per row: gray input, the 3 models (unet, gray, mean_ab), truth; and the trade-off plot
    assert page.count("<img") == rows * 5 + 1
    assert page.count('<img id="tradeoff"') == 1
    psnrs = [float(v) for v in re.findall(r"psnr (\d+\.\d+) ·", page)]
    first_model = psnrs[::3]  # three models per row, the ranked one first
    assert first_model == sorted(first_model), "worst (lowest psnr) first"


def test_report_shows_the_worst_images_as_scored_without_running_the_models_again(trained_checkpoints, tmp_path):
    cfg = evaluate_cfg(
        tmp_path, f"ckpt_path={trained_checkpoints['unet']}", "report=true", "report_max_images=4", "data.batch_size=3"
    )
    evaluation, _ = run_evaluation(cfg)
    first = next(iter(evaluation.summary))
    psnr, worst = evaluation.per_image[first]["psnr"], evaluation.worst
    assert torch.equal(worst.rows, torch.argsort(psnr)[:4]), "the 4 lowest psnr over all batches, worst first"
    assert torch.equal(worst.psnr, psnr[worst.rows])
    model = load_colorizer(trained_checkpoints["unet"])
    datamodule = instantiate(cfg.data)  # at the checkpoint's image size, which run_evaluation set
    datamodule.setup()
    images = datamodule.split_images(cfg.split, worst.rows)
    with torch.no_grad():
        expected = model.net(lab_batch(images)["L"])
    torch.testing.assert_close(worst.ab[first], expected, atol=1e-5, rtol=1e-4)
    assert worst.ab["gray"].abs().max() == 0 and set(worst.ab) == set(evaluation.summary)


def test_report_renders_in_headless_chromium(report, tmp_path) -> None:
    chromium = chromium_path()
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", IMAGE_PROBE + "</body>"))
    # The virtual time budget lets the page finish loading before the DOM is dumped.
    profile = [f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, *profile, "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = result.stdout
    match = re.search(r"<title>loaded (\d+) of (\d+)</title>", dom)
    assert match, f"the page did not finish loading: {result.stderr[-1500:]}"
    loaded, total = map(int, match.groups())
    assert total == 5 * 5 + 1 and loaded == total, "every image (and the trade-off plot) decoded in the browser"
    summary = re.search(r'<table id="summary">(.*?)</table>', dom, re.S).group(1)
    assert re.findall(r"<tr><td>([^<]+)</td>", summary) == ["run/last", "gray", "mean_ab"]
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            *profile,
            f"--screenshot={tmp_path / 'report.png'}",
            "--window-size=1200,900",
            probe.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert (tmp_path / "report.png").stat().st_size > 10_000


@pytest.mark.parametrize("model", ["unet", "cae", "vae"])
def test_torchscript_export_matches_the_module(trained_checkpoints, tmp_path, model) -> None:
    path = export_checkpoint(trained_checkpoints[model], "torchscript", tmp_path / f"{model}.pt")
    exported = torch.jit.load(str(path))
    reference = load_colorizer(trained_checkpoints[model])
    L = torch.rand(3, 1, reference.image_size, reference.image_size)
    loaded = load_colorizer(path)  # what predict, evaluate, the page and the server do with the file
    with torch.no_grad():
        difference = (exported(L) - reference.net(L)).abs().max().item()
        assert torch.equal(loaded.net(L), exported(L))
    assert difference < 1e-4
    assert loaded.image_size == reference.image_size and torch.equal(loaded.train_mean_ab, reference.train_mean_ab)


@pytest.mark.slow
def test_onnx_export_matches_the_module(trained_checkpoints, tmp_path) -> None:
    onnxruntime = needs("onnxruntime")
    path = export_checkpoint(trained_checkpoints["unet"], "onnx", tmp_path / "unet.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    reference = load_colorizer(trained_checkpoints["unet"])
    L = torch.rand(2, 1, reference.image_size, reference.image_size)
    (ab,) = session.run(None, {"L": L.numpy()})
    with torch.no_grad():
        assert abs(torch.from_numpy(ab) - reference.net(L)).max().item() < 1e-4


def test_export_refuses_unknown_formats(trained_checkpoints) -> None:
    with pytest.raises(ValueError, match="torchscript"):
        export_checkpoint(trained_checkpoints["unet"], "tflite")
