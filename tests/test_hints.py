"""User-guided hints: simulated points, nets that take them (every net, both heads), the gray
baseline that only pastes them, and training with them."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from colorizer.color import rebuild_rgb, rgb_to_normalized_lab
from colorizer.data.datamodule import CachedDataModule
from colorizer.data.hints import HintSimulator, box_means, fixed_hints, geometric_counts, hint_channels, sample_boxes
from colorizer.data.sources import SyntheticSource
from colorizer.data.transforms import lab_batch
from colorizer.evaluate import run_evaluation
from colorizer.evaluation.metrics import image_scores
from colorizer.export import export_checkpoint
from colorizer.inference import checkpoint_label, load_colorizer
from colorizer.inference.hint_points import HintError, read_hint_file, user_hints
from colorizer.models import ClassificationHead, GrayBaseline
from colorizer.predict import run_predict
from tests.helpers.config import compose_config
from tests.helpers.run_if import needs

NETS = {
    "unet": {"_target_": "colorizer.models.UNet", "base_width": 8, "concat_input": True},
    "cae": {"_target_": "colorizer.models.SkipConnectionAutoencoder", "widths": [8, 8, 16, 16]},
    "ae": {"_target_": "colorizer.models.ConvAutoencoder", "widths": [8, 16], "image_size": 32},
    "vae": {"_target_": "colorizer.models.ConvVAE", "image_size": 32, "latent_dim": 16},
    "encoder_unet": {
        "_target_": "colorizer.models.EncoderUNet",
        "encoder": {"weights": "none"},
        "decoder_base_width": 8,
    },
}


def test_counts_are_geometric_with_p_one_eighth() -> None:
    torch.manual_seed(0)
    counts = np.array(geometric_counts(20_000, 0.125, max_points=10_000))
    assert abs(counts.mean() - 7.0) < 0.25, "mean (1 - p) / p"
    assert abs((counts == 0).mean() - 0.125) < 0.01, "often none"
    assert counts.max() > 30, "sometimes many"
    assert max(geometric_counts(1000, 0.125, max_points=5)) == 5
    with pytest.raises(ValueError, match="p=0"):
        geometric_counts(1, 0.0, 5)


def test_boxes_fit_the_image_and_nest_and_gaussian_ones_gather_at_the_centre() -> None:
    first = sample_boxes(40, 20, 30, generator=torch.Generator().manual_seed(1))
    assert all(0 <= top <= 20 - side and 0 <= left <= 30 - side and 1 <= side <= 9 for top, left, side in first)
    assert len({side for _, _, side in first}) > 4
    assert sample_boxes(10, 20, 30, generator=torch.Generator().manual_seed(1)) == first[:10], "the first n of 2n"
    uniform = sample_boxes(400, 100, 100, max_side=1, generator=torch.Generator().manual_seed(2))
    gaussian = sample_boxes(400, 100, 100, max_side=1, placement="gaussian", generator=torch.Generator().manual_seed(2))

    def spread(boxes):
        return np.mean([abs(top - 50) + abs(left - 50) for top, left, _ in boxes])

    assert spread(gaussian) < 0.9 * spread(uniform), "sd a quarter of the side: mean distance 40 against 50"
    with pytest.raises(ValueError, match="placement='middle'"):
        sample_boxes(1, 8, 8, placement="middle")


def test_a_hint_is_the_mean_true_colour_under_its_patch_and_the_mask_marks_it() -> None:
    ab = torch.rand(2, 16, 16) * 2 - 1
    boxes = [(3, 4, 5)]
    hints = hint_channels((1, 16, 16), [boxes], [box_means(ab, boxes)])
    assert hints.shape == (1, 3, 16, 16)
    assert hints[0, 2].sum() == 25 and hints[0, 2, 3:8, 4:9].eq(1).all()
    assert torch.allclose(hints[0, :2, 5, 6], ab[:, 3:8, 4:9].mean(dim=(1, 2)))
    assert hints[0, :2][:, hints[0, 2] == 0].abs().sum() == 0, "no colour outside the patches"


def test_simulated_hints_follow_the_global_rng_and_fixed_ones_follow_the_image_name() -> None:
    ab = torch.rand(64, 2, 24, 24) * 2 - 1
    simulator = HintSimulator()
    torch.manual_seed(3)
    first = simulator(ab)
    torch.manual_seed(3)
    assert torch.equal(simulator(ab), first), "a resumed run (RNG restored) draws the same hints"
    assert first[:, 2].flatten(1).sum(1).gt(0).any() and first[:, 2].flatten(1).sum(1).eq(0).any()
    names = [f"photo{i}.jpg" for i in range(64)]
    ten = fixed_hints(ab, names, 10)
    assert torch.equal(fixed_hints(ab, names, 10), ten)
    assert torch.equal(fixed_hints(ab[:1], names[:1], 10), ten[:1]), "per image, whatever the batch"
    assert not torch.equal(ten[0], ten[1])
    assert (fixed_hints(ab, names, 5)[:, 2] <= ten[:, 2]).all(), "five hints are the first five of ten"
    with pytest.raises(ValueError, match="p=2"):
        HintSimulator(p=2)


@pytest.mark.parametrize("head", ["regression", "classification"])
@pytest.mark.parametrize("name", NETS)
def test_every_net_takes_hints_and_without_them_is_automatic(name: str, head: str) -> None:
    torch.manual_seed(0)
    settings = {**NETS[name], "hints": True}
    if head == "classification":
        settings["head"] = ClassificationHead()
    net = instantiate(settings).eval()
    assert net.in_channels == 4
    L = torch.rand(2, 1, 32, 32)
    ab = torch.rand(2, 2, 32, 32) * 2 - 1
    hints = fixed_hints(ab, ["a", "b"], 20)
    with torch.no_grad():
        automatic, given = net(L), net(L, hints)
        assert torch.equal(net(L, torch.zeros_like(hints)), automatic), "no hints: an all-zero mask"
    assert given.shape == automatic.shape == (2, 2, 32, 32)
    assert not torch.equal(given, automatic), "the hints reach the output"
    plain = instantiate(NETS[name]).eval()
    with torch.no_grad():
        assert torch.equal(plain(L, hints), plain(L)), "a net without hints ignores them"


def test_the_encoder_unet_gives_hints_an_encoder_of_their_own_and_its_backbone_l_alone() -> None:
    from colorizer.models import EncoderUNet

    torch.manual_seed(0)
    net = EncoderUNet({"weights": "none"}, decoder_base_width=8, hints=True, hint_width=8).eval()
    L = torch.rand(2, 1, 64, 64)
    hints = fixed_hints(torch.rand(2, 2, 64, 64) * 2 - 1, ["a", "b"], 30)
    inputs = torch.cat([L, hints], dim=1)
    maps = net.hint_encoder(inputs)
    backbone = net.encoder(L)
    assert [m.shape[-1] for m in maps] == [f.shape[-1] for f in backbone], "one map per scale of the backbone"
    assert [m.shape[1] for m in maps] == net.hint_encoder.widths == [8, 16, 32, 64, 64]
    with torch.no_grad():
        without = net.hint_encoder(torch.cat([L, torch.zeros_like(hints)], dim=1))
    assert all(not torch.allclose(a, b) for a, b in zip(maps, without, strict=True)), "hints reach every scale"
    assert {id(p) for p in net.pretrained_parameters()}.isdisjoint(map(id, net.hint_encoder.parameters())), (
        "the hint encoder trains at the full rate"
    )


def test_the_gray_baseline_with_hints_pastes_them_and_nothing_else() -> None:
    ab = torch.rand(1, 2, 16, 16) * 2 - 1
    hints = fixed_hints(ab, ["x"], 3)
    pasted = GrayBaseline(hints=True)(torch.rand(1, 1, 16, 16), hints)
    assert torch.equal(pasted, hints[:, :2])
    assert GrayBaseline()(torch.rand(1, 1, 16, 16), hints).abs().sum() == 0


@pytest.fixture
def hints_checkpoint(hints_checkpoints) -> Path:
    return hints_checkpoints["regression"]


@pytest.mark.slow
def test_a_net_trained_with_hints_uses_them(hints_checkpoint) -> None:
    """With ten true hints the test psnr beats the automatic one (training only simulates them)."""
    net = load_colorizer(hints_checkpoint).net.eval()
    datamodule = CachedDataModule(SyntheticSource(400), image_size=32)
    datamodule.setup()
    batch = lab_batch(datamodule.split_images("test"))
    hints = fixed_hints(batch["ab"], datamodule.split_names("test"), 10)
    true_rgb = rebuild_rgb(batch["L"], batch["ab"])
    with torch.no_grad():
        automatic = image_scores(rebuild_rgb(batch["L"], net(batch["L"])), true_rgb)["psnr"].mean()
        hinted = image_scores(rebuild_rgb(batch["L"], net(batch["L"], hints)), true_rgb)["psnr"].mean()
    assert hinted > automatic + 0.5, (hinted, automatic)


@pytest.mark.slow
def test_evaluate_scores_each_hint_count_on_the_same_points(hints_checkpoint, trained_checkpoints, tmp_path) -> None:
    counts = [0, 2, 10]
    checkpoints = f"ckpt_paths=[{hints_checkpoint},{trained_checkpoints['unet']}]"
    overrides = [
        "data.source.num_images=400",
        checkpoints,
        f"hint_counts=[{','.join(map(str, counts))}]",
        "report=true",
    ]
    cfg = compose_config(overrides, tmp_path / "eval", "evaluate")
    evaluation, _ = run_evaluation(cfg)
    summary = evaluation.summary
    hinted, plain = (checkpoint_label(Path(p), set()) for p in (hints_checkpoint, trained_checkpoints["unet"]))
    assert {f"{hinted}@hints={n}" for n in counts} | {f"{plain}@hints={n}" for n in counts} <= set(summary)
    assert {"gray", "gray@hints=2", "gray@hints=10", "mean_ab"} <= set(summary) and "gray@hints=0" not in summary
    gains = [summary[f"{hinted}@hints={n}"]["psnr_gain"] for n in counts]
    assert gains[0] < gains[1] < gains[2], f"more hints, better: {gains}"
    for n in (2, 10):
        assert summary[f"{hinted}@hints={n}"]["psnr"] > summary[f"gray@hints={n}"]["psnr"], "beats pasting the hints"
        assert summary[f"{plain}@hints={n}"] == summary[f"{plain}@hints=0"], "a net without hints ignores them"
    assert summary["gray@hints=10"]["psnr_gain"] > summary["gray@hints=2"]["psnr_gain"] > 0
    output = Path(cfg.paths.output_dir)
    assert json.loads((output / "metrics.json").read_text())["hints"] == {"counts": counts, "seed": 0}
    assert f"{hinted}@hints=10" in (output / "metrics.csv").read_text()
    assert (output / "hints.png").stat().st_size > 1000
    assert 'id="hints"' in (output / "report.html").read_text()


def test_a_persons_points_are_checked_and_mapped_to_the_models_size() -> None:
    red = {"x": 799, "y": 0, "color": "#ff0000"}
    hints = user_hints([red, {"x": 400, "y": 300, "ab": [20, -40]}], (800, 600), 64, side=3)
    assert hints.shape == (1, 3, 64, 64) and hints[0, 2].sum() == 18
    assert hints[0, 2, 0:3, 61:64].eq(1).all(), "the top right corner, kept inside the image"
    expected = rgb_to_normalized_lab(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1))[1].view(2)
    assert torch.allclose(hints[0, :2, 1, 62], expected, atol=1e-5)
    assert torch.allclose(hints[0, :2, 32, 32], torch.tensor([20 / 110, -40 / 110]))
    for point, message in [
        ({"x": 800, "y": 5, "color": "#ff0000"}, r"point 1 .*outside the 800x600 image"),
        ({"x": 5, "y": 5, "color": "red"}, "not a #rrggbb colour"),
        ({"x": 5, "y": 5}, 'neither "color"'),
        ({"x": 5, "y": 5, "ab": [300, 0]}, "outside CIELAB"),
        ({"x": "5", "y": 5, "color": "#ff0000"}, 'numbers "x" and "y"'),
        ([5, 5], "not an object"),
    ]:
        with pytest.raises(HintError, match=message):
            user_hints([point], (800, 600), 64)


def test_a_hints_file_that_is_not_json_or_not_an_object_is_refused(tmp_path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "deep.json").write_text('{"a.jpg": ' + "[" * 5000 + "]" * 5000 + "}")
    for name, message in [
        ("bad.json", "is not JSON"),
        ("list.json", "JSON object"),
        ("none.json", "cannot be read"),
        ("deep.json", "nested too deeply"),
    ]:
        with pytest.raises(HintError, match=message):
            read_hint_file(tmp_path / name)


@pytest.mark.slow
def test_predict_colours_where_the_hints_say_and_names_a_bad_point(hints_checkpoint, trained_checkpoints, tmp_path):
    photos = tmp_path / "in"
    (photos / "sub").mkdir(parents=True)
    gray = Image.fromarray(np.full((90, 120, 3), 128, np.uint8))
    gray.save(photos / "a.png")
    gray.save(photos / "sub" / "b.png")
    gray.save(photos / "c.png")
    points = {"a.png": [{"x": 30, "y": 45, "color": "#d02020"}], "sub/b.png": [{"x": 500, "y": 1, "color": "#d02020"}]}
    (tmp_path / "hints.json").write_text(json.dumps(points))

    def predict(checkpoint, output, hints=str(tmp_path / "hints.json")):
        overrides = [f"ckpt_path={checkpoint}", f"input={photos}", f"output={tmp_path / output}", f"hints_file={hints}"]
        return run_predict(compose_config(overrides, tmp_path / output / "run", "predict"))

    summary = predict(hints_checkpoint, "hinted")
    assert sorted(p.name for p in summary.written) == ["a.png", "c.png"]
    ((failed, reason),) = summary.failed
    assert failed.name == "b.png" and "point 1" in reason and "outside the 120x90 image" in reason
    automatic = predict(hints_checkpoint, "automatic", hints="null")
    assert len(automatic.written) == 3

    def rgb(output, name):
        return np.asarray(Image.open(tmp_path / output / name).convert("RGB")).astype(float)

    hinted, plain = rgb("hinted", "a.png"), rgb("automatic", "a.png")
    assert hinted[45, 30, 0] - hinted[45, 30, 2] > plain[45, 30, 0] - plain[45, 30, 2] + 10, "redder at the point"
    assert np.array_equal(rgb("hinted", "c.png"), rgb("automatic", "c.png")), "no entry: automatic"
    with pytest.raises(HintError, match="trained without hints"):
        run_predict(
            compose_config(
                [
                    f"ckpt_path={trained_checkpoints['unet']}",
                    f"input={photos}",
                    f"output={tmp_path / 'x'}",
                    f"hints_file={tmp_path / 'hints.json'}",
                ],
                tmp_path / "x",
                "predict",
            )
        )
    (tmp_path / "typo.json").write_text(json.dumps({"A.png": []}))
    with pytest.raises(HintError, match="names A.png, not among the inputs"):
        predict(hints_checkpoint, "typo", hints=str(tmp_path / "typo.json"))


@pytest.mark.slow
def test_a_hints_model_exports_with_its_hint_input(hints_checkpoint, tmp_path) -> None:
    reference = load_colorizer(hints_checkpoint)
    size = reference.image_size
    L = torch.rand(3, 1, size, size)
    hints = fixed_hints(torch.rand(3, 2, size, size) * 2 - 1, ["a", "b", "c"], 10)
    with torch.no_grad():
        expected = reference.net(L, hints)
        scripted = torch.jit.load(str(export_checkpoint(hints_checkpoint, "torchscript", tmp_path / "h.pt")))
        assert (scripted(L, hints) - expected).abs().max() < 1e-4
        assert (scripted(L, torch.zeros_like(hints)) - reference.net(L)).abs().max() < 1e-4, "zeros: automatic"
    onnxruntime = needs("onnxruntime")
    session = onnxruntime.InferenceSession(str(export_checkpoint(hints_checkpoint, "onnx", tmp_path / "h.onnx")))
    (ab,) = session.run(None, {"L": L.numpy(), "hints": hints.numpy()})
    assert np.abs(ab - expected.numpy()).max() < 1e-4
