"""The classification head on every net, the rebalancing prior, decoding temperatures at
inference, and the adversarial term's two-optimiser training."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from colorizer.color.bins import rebalancing_weights
from colorizer.evaluate import run_evaluation
from colorizer.export import export_checkpoint
from colorizer.inference import load_colorizer
from colorizer.models import ClassificationHead
from colorizer.models.heads import temperature_of
from colorizer.predict import run_predict
from colorizer.train import train
from tests.helpers.config import TINY, compose_config, evaluate_cfg
from tests.helpers.events import tensorboard_events

CLASSIFY = ["model/head=classification", "loss=classification"]
ADVERSARIAL = ["loss/adversarial=patchgan", "loss.adversarial.warmup_steps=2"]


@pytest.fixture(scope="module")
def classification_checkpoint(tmp_path_factory) -> Path:
    """A U-Net with a classification head trained for one epoch on tiny synthetic data."""
    folder = tmp_path_factory.mktemp("classification")
    train(compose_config([*TINY, *CLASSIFY], folder / "run"))
    return folder / "run" / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize("model", ["unet", "cae", "vae", "ae"])
def test_every_net_trains_with_a_classification_head(make_cfg, model: str) -> None:
    metrics = train(make_cfg(f"model={model}", *CLASSIFY))
    for key in ("train/loss_classification_epoch", "val/loss", "test/psnr", "test/colorfulness_ratio", "test/ab_jsd"):
        assert torch.isfinite(torch.tensor(metrics[key])), key
    assert metrics["test/temperature"] == pytest.approx(0.38)
    checkpoint = torch.load(metrics["best_checkpoint"], map_location="cpu", weights_only=False)
    prior = checkpoint["state_dict"]["net.ab_head.prior"]
    assert prior.sum().item() == pytest.approx(1.0, abs=1e-4)
    assert prior.max() > 5 / len(prior), "the prior was fitted to the training split, not left uniform"
    if model == "unet":  # the TensorBoard grid: gray | T=0.38 | T=1 | T=0.1 | truth, and T as a scalar
        images, scalars = [], set()
        for events in tensorboard_events(Path(metrics["best_checkpoint"]).parents[1]):
            images += events.Images("val/colorization") if "val/colorization" in events.Tags()["images"] else []
            scalars |= set(events.Tags()["scalars"])
        assert images and images[-1].width == 5 * (32 + 2) + 2
        assert "val/temperature" in scalars


@pytest.mark.slow
def test_prior_is_computed_once_beside_the_cache_and_travels_in_the_checkpoint(
    make_cfg, classification_checkpoint
) -> None:
    cfg = make_cfg(*CLASSIFY)
    train(cfg)
    stored = list(Path(cfg.paths.cache_dir).glob("*-abprior-*.pt"))
    assert len(stored) == 1
    state = torch.load(classification_checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    prior = state["net.ab_head.prior"]
    assert torch.allclose(torch.load(stored[0], weights_only=True), prior)  # same data, same split: same prior
    weights = rebalancing_weights(prior, 0.5)
    assert (prior * weights).sum().item() == pytest.approx(1.0, abs=1e-4)
    assert weights[prior.argmax()] < 1 < weights[prior.argmin()]


def test_a_classification_loss_on_a_regression_head_says_what_to_add(make_cfg) -> None:
    with pytest.raises(ValueError, match="model/head=classification"):
        train(make_cfg("loss=classification"))


@pytest.mark.slow
def test_regression_terms_mix_into_the_classification_loss_by_weight(make_cfg) -> None:
    metrics = train(make_cfg(*CLASSIFY, "loss.mse.weight=0.5"))
    assert "train/loss_mse_epoch" in metrics and "train/loss_classification_epoch" in metrics
    assert "train/loss_mse_epoch" not in train(make_cfg(*CLASSIFY))


def test_one_checkpoint_is_scored_at_several_temperatures_without_its_data(classification_checkpoint, tmp_path) -> None:
    cfg = evaluate_cfg(tmp_path, f"ckpt_path={classification_checkpoint}", "temperatures=[1.0,0.38,0.1]", "report=true")
    evaluation, _ = run_evaluation(cfg)
    labels = [name for name in evaluation.summary if "@T=" in name]
    assert [label.split("@T=")[1] for label in labels] == ["1", "0.38", "0.1"]
    ratios = [evaluation.summary[label]["colorfulness_ratio"] for label in labels]
    assert len(set(ratios)) == 3, "each temperature decodes differently"
    out = Path(cfg.paths.output_dir)
    assert (out / "tradeoff.png").stat().st_size > 1000
    page = (out / "report.html").read_text()
    assert "@T=0.1" in page and 'id="tradeoff"' in page

    loaded = load_colorizer(classification_checkpoint, temperature=0.0)
    assert loaded.temperature == 0.0 and temperature_of(loaded.net) == 0.38, "asked for, not set on the net"
    head = next(m for m in loaded.net.modules() if isinstance(m, ClassificationHead))
    assert head.prior.max() > 5 / len(head.prior)


def test_predict_and_export_decode_at_the_requested_temperature(classification_checkpoint, tmp_path) -> None:
    photos = tmp_path / "in"
    photos.mkdir()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(photos / "a.png")
    written = {}
    for temperature in (1.0, 0.0):
        out = tmp_path / f"out{temperature}"
        overrides = [f"ckpt_path={classification_checkpoint}", f"input={photos}", f"output={out}"]
        cfg = compose_config([*overrides, f"temperature={temperature}"], tmp_path / "run", "predict")
        assert len(run_predict(cfg).written) == 1
        written[temperature] = torch.tensor(list(Image.open(out / "a.png").getdata()), dtype=torch.float32)
    assert not torch.equal(written[1.0], written[0.0])

    example = torch.rand(2, 1, 32, 32)
    traced = torch.jit.load(
        str(export_checkpoint(classification_checkpoint, output=tmp_path / "t0.pt", temperature=0.0))
    )
    reference = load_colorizer(classification_checkpoint, temperature=0.0)
    assert torch.allclose(traced(example), reference.net(example, None, reference.temperature), atol=1e-4)
    assert load_colorizer(tmp_path / "t0.pt", temperature=0.0).net.temperature == 0.0
    with pytest.raises(ValueError, match="cannot be applied to a traced model"):
        load_colorizer(tmp_path / "t0.pt", temperature=1.0)


@pytest.mark.parametrize("head", [[], CLASSIFY], ids=["regression", "classification"])
@pytest.mark.slow
def test_adversarial_term_trains_the_discriminator_with_its_own_optimiser(make_cfg, head: list[str]) -> None:
    cfg = make_cfg(*head, *ADVERSARIAL, "scheduler=onecycle", "trainer.max_epochs=2")
    metrics = train(cfg)
    for key in ("train/loss_adversarial_epoch", "train/adversarial_adversary_loss_epoch", "test/psnr"):
        assert torch.isfinite(torch.tensor(metrics[key])), key
    checkpoint = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=False)
    assert len(checkpoint["optimizer_states"]) == 2
    batches = checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["completed"]
    assert batches >= 2
    assert checkpoint["global_step"] == batches, "one global step per batch, not per optimiser"
    assert checkpoint["lr_schedulers"][0]["_step_count"] == batches + 1, "the schedule steps per batch"
    saved = {k.split("discriminator.", 1)[1]: v for k, v in checkpoint["state_dict"].items() if "discriminator." in k}
    initial = instantiate(cfg.loss.adversarial.discriminator).state_dict()
    assert saved.keys() == initial.keys(), "the whole discriminator is saved, so training can resume"
    assert not torch.equal(saved["layers.0.bias"], initial["layers.0.bias"]), "the discriminator was trained"
