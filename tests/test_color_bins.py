"""Colour as classes: the bin set, soft encoding, rebalancing, decoding, and the classification head."""

import pytest
import torch
from kornia.color import lab_to_rgb, rgb_to_lab

from colorizer.color import gamut_map
from colorizer.color.bins import (
    ab_bin_centres,
    annealed_mean,
    bin_histograms,
    js_divergence,
    nearest_bin,
    rebalancing_weights,
    smoothed_prior,
    soft_encode,
)
from colorizer.models import ClassificationHead, UNet
from colorizer.models.heads import temperature_of


def random_true_ab(count: int = 4, size: int = 16, seed: int = 0) -> torch.Tensor:
    """ab [B,2,H,W] in Lab units of random sRGB colours: every value is displayable."""
    generator = torch.Generator().manual_seed(seed)
    return rgb_to_lab(torch.rand(count, 3, size, size, generator=generator))[:, 1:]


def test_bins_are_the_in_gamut_cells_of_the_ab_grid() -> None:
    centres = ab_bin_centres(10.0)
    assert 200 < len(centres) < 330  # Zhang et al. keep 313 with their gamut test
    assert torch.equal(centres, torch.unique(centres, dim=0))
    assert torch.allclose(torch.remainder(centres, 10.0), torch.zeros_like(centres))
    # Every sRGB colour lies in (or on the edge of) the cell of its nearest bin.
    ab = random_true_ab().permute(0, 2, 3, 1).reshape(-1, 2)
    distances = torch.cdist(ab, centres).min(dim=1).values
    assert distances.max() <= 5 * 2**0.5 + 1e-4
    # A coarser grid has fewer bins; the corners of the grid hold no sRGB colour.
    assert len(ab_bin_centres(20.0)) < len(centres)
    assert not ((centres == torch.tensor([-110.0, -110.0])).all(dim=1)).any()
    with pytest.raises(ValueError, match="positive"):
        ab_bin_centres(0.0)


def test_soft_encoding_puts_the_mass_on_the_nearest_bins_and_decodes_back_within_2_delta_e() -> None:
    centres = ab_bin_centres()
    true_ab = random_true_ab()
    indices, weights = soft_encode(true_ab, centres, neighbours=5, sigma=5.0)
    assert indices.shape == weights.shape == (4, 5, 16, 16)
    assert torch.allclose(weights.sum(dim=1), torch.ones(4, 16, 16))
    assert torch.equal(indices[:, 0], nearest_bin(true_ab, centres))
    assert (weights[:, 0] >= weights[:, 4]).all()
    # The windowed search finds the same neighbours as a search over all Q bins.
    pixels = true_ab.permute(0, 2, 3, 1).reshape(-1, 2)
    brute = torch.cdist(pixels, centres).topk(5, dim=1, largest=False).values
    found = (centres[indices.permute(0, 2, 3, 1).reshape(-1, 5)] - pixels[:, None]).norm(dim=2)
    assert torch.allclose(found, brute, atol=1e-2)  # cdist itself is good to about 1e-3 here

    distribution = weights.new_zeros(4, len(centres), 16, 16).scatter_(1, indices, weights)  # over all Q bins
    decoded = annealed_mean(distribution.log(), centres, temperature=1.0)
    delta_e = (decoded - true_ab).norm(dim=1)  # same L, so ΔE76 is the ab distance
    assert delta_e.mean() < 2.0
    assert torch.quantile(delta_e.flatten(), 0.99) < 2.0


def test_temperature_zero_is_the_argmax_bin_and_small_temperatures_approach_it() -> None:
    centres = ab_bin_centres()
    logits = torch.randn(2, len(centres), 8, 8, generator=torch.Generator().manual_seed(1)) * 3
    logits.scatter_add_(1, logits.argmax(dim=1, keepdim=True), torch.ones(2, 1, 8, 8))  # no near ties
    mode = annealed_mean(logits, centres, 0.0)
    assert torch.equal(mode, centres[logits.argmax(dim=1)].permute(0, 3, 1, 2))
    assert torch.allclose(annealed_mean(logits, centres, 0.01), mode, atol=1e-3)
    mean = annealed_mean(logits, centres, 1.0)
    expected = torch.einsum("bqhw,qc->bchw", torch.softmax(logits, dim=1), centres)
    assert torch.allclose(mean, expected, atol=1e-4)
    # Lower temperature, further from grey on average: the point of annealing.
    chroma = [annealed_mean(logits, centres, t).norm(dim=1).mean() for t in (1.0, 0.38, 0.1)]
    assert chroma[0] < chroma[1] < chroma[2]
    with pytest.raises(ValueError, match=">= 0"):
        annealed_mean(logits, centres, -0.1)


def test_rebalancing_weights_have_prior_weighted_mean_one_and_favour_rare_bins() -> None:
    centres = ab_bin_centres()
    counts = torch.zeros(len(centres))
    common, rare = nearest_bin(torch.tensor([5.0, 10.0]).view(1, 2, 1, 1), centres).item(), 0
    counts[common], counts[rare] = 1000.0, 1.0
    prior = smoothed_prior(counts, centres, sigma=5.0)
    assert prior.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert (prior >= 0).all() and prior[common] < 1000 / 1001  # smoothing spread some mass around
    weights = rebalancing_weights(prior, uniform_mix=0.5)
    assert (prior * weights).sum().item() == pytest.approx(1.0, abs=1e-5)
    assert weights[rare] > weights[common]
    assert torch.allclose(rebalancing_weights(prior, uniform_mix=1.0), torch.ones(len(centres)))
    with pytest.raises(ValueError, match="uniform_mix"):
        rebalancing_weights(prior, uniform_mix=1.5)


def test_bin_histograms_and_js_divergence() -> None:
    centres = ab_bin_centres()
    true_ab = random_true_ab(count=2)
    counts = bin_histograms(true_ab, centres)
    assert counts.shape == (2, len(centres)) and torch.equal(counts.sum(dim=1), torch.full((2,), 256.0))
    assert torch.allclose(js_divergence(counts, counts), torch.zeros(2), atol=1e-6)
    gray = bin_histograms(torch.zeros_like(true_ab), centres)
    assert (js_divergence(gray, counts) > 0.5).all()
    one, other = torch.zeros(1, 4), torch.zeros(1, 4)
    one[0, 0], other[0, 3] = 1.0, 1.0
    assert js_divergence(one, other).item() == pytest.approx(1.0)


def test_classification_head_decodes_logits_and_crops_with_the_net() -> None:
    head = ClassificationHead(step=10.0, temperature=0.38)
    net = UNet(base_width=4, depth=3, encoder_dropout=(0.0, 0.0), head=head).eval()
    output = net.colorize(torch.rand(2, 1, 30, 26))  # padded to 32x28 inside, cropped back
    assert output.ab.shape == (2, 2, 30, 26) and output.classes.logits.shape == (2, len(head.centres), 30, 26)
    expected = annealed_mean(output.classes.logits, head.centres, 0.38) / 110
    assert torch.allclose(output.ab, expected, atol=1e-6)
    assert {"ab_head.centres", "ab_head.prior"} <= set(net.state_dict())
    # The decoding temperature is an argument of the call, not state on the net: the same logits,
    # decoded at 0, give each pixel its most likely bin; the next call decodes as trained again.
    L = torch.rand(1, 1, 16, 16)
    mode = net.colorize(L, temperature=0.0)
    own = net.colorize(L)
    assert torch.equal(mode.classes.logits, own.classes.logits) and temperature_of(net) == 0.38
    centres_hit = torch.cdist((mode.ab * 110).permute(0, 2, 3, 1).reshape(-1, 2), head.centres).min(dim=1).values
    assert (centres_hit < 1e-3).all()
    assert torch.allclose(own.ab, annealed_mean(own.classes.logits, head.centres, 0.38) / 110, atol=1e-6)
    assert torch.equal(net(L, None, 0.0), mode.ab)
    with pytest.raises(ValueError, match="classification heads only"):
        UNet(base_width=4, depth=3)(L, None, 0.5)
    with pytest.raises(ValueError, match=">= 0"):
        net(L, None, -1.0)


def test_decoded_colours_of_a_confident_head_are_displayable() -> None:
    centres = ab_bin_centres()
    logits = torch.full((1, len(centres), 1, len(centres)), -30.0)
    logits[0, torch.arange(len(centres)), 0, torch.arange(len(centres))] = 30.0
    ab = annealed_mean(logits, centres, 0.0)
    assert torch.allclose(ab[0, :, 0].T, centres, atol=1e-3), "a confident head decodes to its bin"
    # Shown as predict and the page show them (gamut-mapped), every bin's colour fits [0, 1] at its L.
    lightness = torch.full((1, 1, 1, len(centres)), 60.0)
    raw = lab_to_rgb(torch.cat([lightness, ab], dim=1), clip=False)
    assert ((raw < 0) | (raw > 1)).any(), "some bins are out of gamut at L=60: the mapping has work to do"
    shown = gamut_map(lightness, ab)
    assert shown.min() >= 0 and shown.max() <= 1
    assert torch.allclose(rgb_to_lab(shown)[:, :1], lightness, atol=0.05), "the mapping keeps L"
