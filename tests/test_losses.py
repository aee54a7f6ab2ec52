import urllib.error

import pytest
import torch
import torch.nn.functional as F
import torchvision

from colorizer.color import rebuild_rgb
from colorizer.evaluation.metrics import image_scores
from colorizer.losses import (
    CharbonnierLoss,
    CompositeLoss,
    CosineLoss,
    KLDivergenceLoss,
    L1Loss,
    LossInputs,
    MSELoss,
    PerceptualLoss,
    PretrainedWeightsError,
    PSNRLoss,
    SSIMLoss,
)
from colorizer.losses.perceptual import vgg_layer_indices

TERMS = {
    "charbonnier": lambda: CharbonnierLoss(eps=1e-3),
    "cosine": CosineLoss,
    "mse": MSELoss,
    "l1": L1Loss,
    "ssim": SSIMLoss,
    "perceptual": lambda: PerceptualLoss(pretrained=False),
}


def colourful_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    L = 0.3 + 0.4 * torch.rand(2, 1, 32, 32, generator=generator)
    ab = 0.1 + 0.3 * torch.rand(2, 2, 32, 32, generator=generator)  # away from 0: cosine is defined
    return L, ab


@pytest.mark.parametrize("name", sorted(TERMS))
def test_term_is_minimal_for_a_perfect_prediction_and_positive_otherwise(name: str) -> None:
    term = TERMS[name]()
    L, ab = colourful_batch()
    perfect = term(LossInputs(L, ab.clone(), ab))
    wrong_ab = (-ab).requires_grad_(True)
    wrong = term(LossInputs(L, wrong_ab, ab))
    assert perfect.item() <= 1.01e-3, f"{name} of a perfect prediction is {perfect.item()}"
    assert wrong.item() > perfect.item() + 1e-3
    wrong.backward()
    assert wrong_ab.grad is not None and torch.isfinite(wrong_ab.grad).all() and wrong_ab.grad.abs().sum() > 0


def test_cosine_denominator_is_clamped_for_gray_pixels() -> None:
    zeros = torch.zeros(1, 2, 4, 4, requires_grad=True)
    value = CosineLoss()(LossInputs(torch.rand(1, 1, 4, 4), zeros, torch.zeros(1, 2, 4, 4)))
    value.backward()
    assert value.item() == pytest.approx(1.0)
    assert torch.isfinite(zeros.grad).all()


def test_kl_applies_only_to_variational_nets_and_warms_up() -> None:
    term = KLDivergenceLoss(weight=2.0, warmup_steps=100)
    L, ab = colourful_batch()
    assert term(LossInputs(L, ab, ab)) is None
    assert term(LossInputs(L, ab, ab, kl=torch.tensor(3.0))).item() == 3.0
    assert term.weight_at(0) == 0.0 and term.weight_at(50) == 1.0 and term.weight_at(500) == 2.0


def test_composite_weights_terms_and_skips_the_ones_that_do_not_apply() -> None:
    loss = CompositeLoss(mse=MSELoss(weight=2.0), l1=L1Loss(weight=0.5), kl=KLDivergenceLoss(weight=1.0))
    L, ab = colourful_batch()
    pred = torch.zeros_like(ab)
    result = loss(LossInputs(L, pred, ab))
    assert set(result.terms) == {"mse", "l1"}
    expected = 2.0 * ab.pow(2).mean() + 0.5 * ab.abs().mean()
    assert result.total.item() == pytest.approx(expected.item(), rel=1e-5)
    with_kl = loss(LossInputs(L, pred, ab, kl=torch.tensor(1.5)))
    assert set(with_kl.terms) == {"mse", "l1", "kl"}
    assert with_kl.total.item() == pytest.approx(expected.item() + 1.5, rel=1e-5)


def test_composite_refuses_when_no_term_applies() -> None:
    L, ab = colourful_batch()
    with pytest.raises(ValueError, match="applies"):
        CompositeLoss(kl=KLDivergenceLoss())(LossInputs(L, ab, ab))


def test_vgg_layer_names_match_torchvision_indices() -> None:
    vgg19 = vgg_layer_indices(torchvision.models.vgg19().features)
    assert vgg19["relu3_4"] == 17 and vgg19["relu4_4"] == 26 and vgg19["relu1_1"] == 1
    vgg11 = vgg_layer_indices(torchvision.models.vgg11().features)
    assert vgg11["relu2_1"] == 4


def test_perceptual_loss_is_frozen_and_not_in_the_state_dict() -> None:
    torch.manual_seed(0)
    term = PerceptualLoss(pretrained=False, layers=["relu2_2", "relu3_4"])
    torch.manual_seed(0)
    vgg = torchvision.models.vgg19().features.eval()  # the same random weights
    pred, true = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    inputs = LossInputs(
        L=torch.zeros(1, 1, 32, 32), pred_ab=torch.zeros(1, 2, 32, 32), true_ab=torch.zeros(1, 2, 32, 32)
    )
    inputs.__dict__.update(pred_rgb=pred, true_rgb=true)  # the cached RGB the term reads
    mean, std = (
        torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1),
        torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1),
    )
    with torch.no_grad():
        # relu2_2 and relu3_4 are the outputs of layers 8 and 17 of torchvision's VGG19 features.
        expected = (
            sum(F.l1_loss(vgg[: i + 1]((pred - mean) / std), vgg[: i + 1]((true - mean) / std)) for i in (8, 17)) / 2
        )
        assert term(inputs).item() == pytest.approx(expected.item(), rel=1e-5)
    assert list(term.parameters()) == [] and term.state_dict() == {}
    term.train()
    assert not term._vgg[0].training


@pytest.mark.slow
def test_perceptual_loss_loads_a_local_weights_file(tmp_path) -> None:
    reference = torchvision.models.vgg11()
    path = tmp_path / "vgg11.pth"
    torch.save(reference.state_dict(), path)
    term = PerceptualLoss(arch="vgg11", layers=["relu2_1"], weights_path=str(path))
    assert torch.equal(term._vgg[0][3].weight, reference.features[3].weight)


def test_missing_weights_give_a_message_that_says_what_to_do(tmp_path, monkeypatch) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(PretrainedWeightsError, match="weights_path=.*pretrained=false"):
        PerceptualLoss(pretrained=True)
    with pytest.raises(PretrainedWeightsError, match="does not exist"):
        PerceptualLoss(weights_path=str(tmp_path / "nowhere.pth"))


def test_unknown_layer_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="relu3_4"):
        PerceptualLoss(pretrained=False, layers=["relu9_9"])


def test_psnr_term_is_minus_the_scored_psnr_averaged_over_images() -> None:
    L, ab = colourful_batch()
    pred_ab = 0.5 * ab + 0.02 * torch.randn(ab.shape, generator=torch.Generator().manual_seed(1))
    term = PSNRLoss()(LossInputs(L, pred_ab, ab))
    scored = image_scores(rebuild_rgb(L, pred_ab), rebuild_rgb(L, ab))["psnr"]  # [B], clipped to [0, 1]
    # The scores clip RGB to [0, 1] (a few pixels of this batch are just out of gamut); the term does not.
    assert scored.shape == (2,) and torch.isclose(term, -scored.mean(), atol=0.05)
    perfect = PSNRLoss(max_psnr=50.0)(LossInputs(L, ab.clone(), ab))
    assert torch.isclose(perfect, torch.tensor(-50.0), atol=0.01), "an exact prediction is capped, not infinite"
