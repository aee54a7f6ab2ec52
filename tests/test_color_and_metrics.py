import math

import numpy as np
import pytest
import torch

from colorizer.color import AB_SCALE, gamut_map, gray_rgb, rebuild_rgb, rgb_to_normalized_lab
from colorizer.color.bins import ab_bin_centres, annealed_mean, nearest_bin, soft_encode
from colorizer.color.srgb_table import lab_to_srgb8, lightness
from colorizer.evaluation.metrics import MAX_PSNR, ColorizationMetrics, colorfulness_per_image, delta_e76_per_image


def test_lab_round_trip_and_ranges() -> None:
    rgb = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    L, ab = rgb_to_normalized_lab(rgb)
    assert L.shape == (4, 1, 16, 16) and ab.shape == (4, 2, 16, 16)
    assert 0 <= L.min() and L.max() <= 1 and ab.abs().max() <= 1
    assert torch.allclose(rebuild_rgb(L, ab), rgb, atol=1e-4)


def test_known_lab_values() -> None:
    white = torch.ones(1, 3, 1, 1)
    L, ab = rgb_to_normalized_lab(white)
    assert L.item() == pytest.approx(1.0, abs=1e-3) and ab.abs().max() < 1e-3
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    L, ab = rgb_to_normalized_lab(red)  # sRGB red is about Lab(53.2, 80.1, 67.2)
    assert L.item() * 100 == pytest.approx(53.24, abs=0.1)
    assert ab[0, 0].item() * AB_SCALE == pytest.approx(80.09, abs=0.2)
    assert ab[0, 1].item() * AB_SCALE == pytest.approx(67.20, abs=0.2)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_lab_conversion_runs_in_fp32_whatever_the_input_dtype(dtype) -> None:
    """Lab in half precision loses about 1 unit of L; the data step converts in fp32 on the device."""
    rgb = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    expected_L, expected_ab = rgb_to_normalized_lab(rgb)
    L, ab = rgb_to_normalized_lab(rgb.to(dtype))
    assert L.dtype == ab.dtype == torch.float32
    tolerance = 1e-6 if dtype == torch.float64 else 1e-2
    assert torch.allclose(L, expected_L, atol=tolerance) and torch.allclose(ab, expected_ab, atol=tolerance)
    assert rebuild_rgb(L.to(dtype), ab.to(dtype)).dtype == torch.float32


@pytest.mark.parametrize("device", DEVICES)
def test_lab_conversion_gives_the_same_on_every_device(device) -> None:
    rgb = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    L, ab = rgb_to_normalized_lab(rgb.to(device))
    assert L.device.type == ab.device.type == device
    cpu_L, cpu_ab = rgb_to_normalized_lab(rgb)
    assert torch.allclose(L.cpu(), cpu_L, atol=1e-5) and torch.allclose(ab.cpu(), cpu_ab, atol=1e-5)
    assert torch.allclose(rebuild_rgb(L, ab).cpu(), rgb, atol=1e-4)


@pytest.mark.filterwarnings("ignore:Input #.*double precision")
def test_rebuild_rgb_gradients_match_finite_differences_and_survive_out_of_gamut() -> None:
    generator = torch.Generator().manual_seed(3)
    L = (0.3 + 0.4 * torch.rand(1, 1, 3, 3, generator=generator)).requires_grad_()
    ab = (0.3 * torch.randn(1, 2, 3, 3, generator=generator)).requires_grad_()
    # fp32 inside: finite differences at a coarse step and tolerance, as for any fp32 function.
    assert torch.autograd.gradcheck(
        lambda L, ab: rebuild_rgb(L, ab, clip=False), (L, ab), eps=1e-3, atol=2e-2, rtol=2e-2, fast_mode=True
    )
    vivid = torch.full((1, 2, 1, 1), 1.5, requires_grad=True)  # far outside the sRGB gamut
    rebuild_rgb(torch.full((1, 1, 1, 1), 0.5), vivid, clip=False).sum().backward()
    assert vivid.grad.abs().sum() > 0, "losses see out-of-gamut colours"


def test_gray_baseline_has_equal_channels() -> None:
    rgb = gray_rgb(torch.rand(2, 1, 8, 8))
    assert torch.allclose(rgb[:, 0], rgb[:, 1], atol=1e-4) and torch.allclose(rgb[:, 1], rgb[:, 2], atol=1e-4)


def colourful(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rgb = 0.2 + 0.6 * torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(seed))
    return rgb_to_normalized_lab(rgb)


def test_psnr_is_averaged_per_image_not_pooled() -> None:
    L, true_ab = colourful()
    pred_ab = true_ab.clone()
    pred_ab[0] = 0.0  # image 0 gray, image 1 nearly perfect
    pred_ab[1] += 0.01
    metrics = ColorizationMetrics()
    metrics.update(L, pred_ab, true_ab)
    values = metrics.compute()

    true_rgb = rebuild_rgb(L, true_ab).double()
    pred_rgb = rebuild_rgb(L, pred_ab).double()
    mse = ((pred_rgb - true_rgb) ** 2).mean(dim=(1, 2, 3))
    per_image = [10 * math.log10(1 / m) for m in mse.tolist()]
    assert values["psnr"].item() == pytest.approx(np.mean(per_image), abs=1e-3)
    pooled = 10 * math.log10(1 / mse.mean().item())
    assert abs(values["psnr"].item() - pooled) > 1.0, "pooled and per-image PSNR should differ here"
    rmse = ((pred_ab.double() - true_ab.double()) * AB_SCALE).pow(2).mean(dim=(1, 2, 3)).sqrt().mean()
    assert values["rmse_ab"].item() == pytest.approx(rmse.item(), rel=1e-4)
    assert values["mae"].item() == pytest.approx((pred_rgb - true_rgb).abs().mean().item(), rel=1e-4)


def test_an_exact_prediction_has_a_finite_psnr() -> None:
    L, true_ab = colourful(2)
    L[1], true_ab[1] = 0.5, 0.0  # a gray truth: the gray baseline is exact on it
    pred_ab = true_ab.clone()
    pred_ab[0] = 0.0
    scores = ColorizationMetrics().update(L, pred_ab, true_ab)
    assert scores["psnr"][1].item() == MAX_PSNR and 10 < scores["psnr"][0].item() < MAX_PSNR
    metrics = ColorizationMetrics()
    metrics.update(L, true_ab, true_ab)
    values = metrics.compute()
    assert values["psnr"].item() == MAX_PSNR and torch.isfinite(values["gray_psnr"])


def test_gray_baseline_figures_match_a_gray_prediction() -> None:
    L, true_ab = colourful(1)
    metrics = ColorizationMetrics()
    metrics.update(L, torch.zeros_like(true_ab), true_ab)
    values = metrics.compute()
    assert values["psnr"].item() == pytest.approx(values["gray_psnr"].item(), abs=1e-4)
    assert values["ssim"].item() == pytest.approx(values["gray_ssim"].item(), abs=1e-4)
    assert values["rmse_ab"].item() == pytest.approx(values["gray_rmse_ab"].item(), rel=1e-5)
    assert values["psnr_gain"].item() == pytest.approx(0.0, abs=1e-4)
    metrics.reset()
    metrics.update(L, true_ab, true_ab)
    perfect = metrics.compute()
    assert perfect["psnr_gain"] > 20 and perfect["ssim"] > 0.999 and perfect["delta_e"] < 0.1


def test_saturation_metrics_tell_grey_from_vivid_and_right_from_wrong() -> None:
    noise = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(4))
    L, true_ab = rgb_to_normalized_lab(torch.tensor([0.8, 0.45, 0.2]).view(1, 3, 1, 1) + 0.15 * noise)  # orange
    metrics = ColorizationMetrics()

    def score(pred_ab: torch.Tensor) -> dict[str, float]:
        metrics.reset()
        metrics.update(L, pred_ab, true_ab)
        return {k: v.item() for k, v in metrics.compute().items()}

    right = score(true_ab)
    assert right["colorfulness_ratio"] == pytest.approx(1.0, abs=1e-4) and right["ab_jsd"] < 1e-4
    grey = score(torch.zeros_like(true_ab))
    assert grey["colorfulness_ratio"] == pytest.approx(0.0, abs=1e-3)
    assert grey["ab_jsd"] == pytest.approx(grey["gray_ab_jsd"], abs=1e-6) and grey["ab_jsd"] > 0.9
    muted = score(true_ab * 0.5)
    assert 0.3 < muted["colorfulness_ratio"] < 0.7 and muted["ab_jsd"] > 0.3
    # Vivid but wrong (blue for orange): the colorfulness ratio cannot see it, the histogram can.
    wrong = score(-true_ab)
    assert wrong["colorfulness_ratio"] > 0.9 and wrong["ab_jsd"] > 0.9


def test_colorfulness_by_hand() -> None:
    gray = torch.full((1, 3, 4, 4), 0.5)
    assert colorfulness_per_image(gray).item() == pytest.approx(0.0, abs=1e-4)
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 1.0
    # rg = 255, yb = 127.5, no spread: 0.3 * sqrt(255^2 + 127.5^2)
    assert colorfulness_per_image(red).item() == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-5)
    half = torch.zeros(1, 3, 2, 2)
    half[:, 0, 0] = 1.0  # top row red, bottom black: rg in {255, 0}, yb in {127.5, 0}
    expected = math.hypot(127.5, 63.75) + 0.3 * math.hypot(127.5, 63.75)
    assert colorfulness_per_image(half).item() == pytest.approx(expected, rel=1e-5)


def test_delta_e_is_the_lab_distance() -> None:
    L, ab = colourful(2)
    shifted = ab.clone()
    shifted[:, 0] += 5 / AB_SCALE
    pred_rgb, true_rgb = rebuild_rgb(L, shifted), rebuild_rgb(L, ab)
    assert delta_e76_per_image(true_rgb, true_rgb).max() < 1e-2
    assert delta_e76_per_image(pred_rgb, true_rgb).mean().item() == pytest.approx(5.0, abs=0.3)


WRONG_SHAPES = [
    ("rgb_to_normalized_lab", lambda: rgb_to_normalized_lab(torch.rand(2, 4, 8, 8)), "rgb must be [B,3,H,W], got"),
    ("rgb_to_normalized_lab", lambda: rgb_to_normalized_lab(torch.rand(3, 8, 8)), "got shape [3, 8, 8]"),
    ("rebuild_rgb", lambda: rebuild_rgb(torch.rand(1, 1, 8, 8), torch.rand(1, 3, 8, 8)), "ab must be [B,2,H,W]"),
    ("rebuild_rgb", lambda: rebuild_rgb(torch.rand(1, 1, 8, 8), torch.rand(1, 2, 8, 6)), "L and ab differ in size"),
    ("gray_rgb", lambda: gray_rgb(torch.rand(1, 2, 8, 8)), "L must be [B,1,H,W]"),
    ("gamut_map", lambda: gamut_map(torch.rand(8, 8), torch.rand(2, 8, 8)), "L must be [B,1,H,W], got shape [8, 8]"),
    ("soft_encode", lambda: soft_encode(torch.rand(1, 3, 4, 4), ab_bin_centres()), "ab must be [B,2,H,W]"),
    ("nearest_bin", lambda: nearest_bin(torch.rand(2, 4, 4), ab_bin_centres()), "ab must be [B,2,H,W]"),
    ("annealed_mean", lambda: annealed_mean(torch.rand(1, 5, 4, 4), ab_bin_centres(), 1.0), "logits must be [B,"),
    ("BinGrid.of", lambda: soft_encode(torch.rand(1, 2, 4, 4), torch.rand(10, 3)), "centres must be [Q,2]"),
    ("lightness", lambda: lightness(np.zeros((8, 8, 3), np.float32)), "rgb8 must be [H,W,3] uint8, got float32"),
    ("lightness", lambda: lightness(np.zeros((8, 8), np.uint8)), "of shape [8, 8]"),
    ("lab_to_srgb8", lambda: lab_to_srgb8(torch.zeros(8, 8), torch.zeros(1, 2, 8, 8), None), "ab must be [2,H,W]"),
    ("lab_to_srgb8", lambda: lab_to_srgb8(torch.zeros(8, 8), torch.zeros(2, 8, 9), None), "level and ab differ"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("function", "call", "message"), WRONG_SHAPES, ids=[f"{f}-{i}" for i, (f, *_) in enumerate(WRONG_SHAPES)]
)
def test_colour_functions_name_a_wrong_input_shape(function, call, message) -> None:
    """kornia's cardinality tests: a wrong shape is refused with the function's name, what it
    takes and the shape it received, before anything is computed."""
    with pytest.raises(ValueError) as raised:
        call()
    assert str(raised.value).startswith(f"{function}: ") and message in str(raised.value)
