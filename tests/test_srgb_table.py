import numpy as np
import pytest
import torch
import torch.nn.functional as F
from kornia.color import rgb_to_lab

from colorizer.color import gamut_map, srgb_table
from colorizer.color.srgb_table import (
    AB_LIMIT,
    L_LEVELS,
    lab_to_srgb8,
    lightness,
    lightness_level,
    packed_to_image,
    upsampled_to_srgb8,
)
from colorizer.inference import full_resolution_image
from colorizer.inference.photo import model_input


def test_lightness_matches_kornia_on_every_channel_value() -> None:
    rng = np.random.default_rng(0)
    rgb8 = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    rgb8[0, :3] = [[0, 0, 0], [255, 255, 255], [255, 0, 0]]
    L, level = lightness(rgb8)
    reference = rgb_to_lab(torch.from_numpy(rgb8).permute(2, 0, 1)[None].float() / 255)[:, :1]
    assert L.shape == (1, 1, 64, 48) and level.shape == (64, 48) and level.dtype == torch.uint8
    assert (L - reference).abs().max() < 0.02
    assert (level.float() * 100 / (L_LEVELS - 1) - L[0, 0]).abs().max() <= 100 / (L_LEVELS - 1) / 2 + 0.01
    assert level[0, 0] == 0 and level[0, 1] == L_LEVELS - 1


def test_table_lookup_agrees_with_exact_gamut_mapping() -> None:
    table = srgb_table.srgb_table()
    generator = torch.Generator().manual_seed(1)
    L = torch.rand(1, 1, 40, 50, generator=generator) * 100
    ab = (torch.rand(1, 2, 40, 50, generator=generator) * 2 - 1) * AB_LIMIT
    level = torch.round(L[0, 0] * (L_LEVELS - 1) / 100).to(torch.uint8)
    looked_up = torch.from_numpy(np.array(packed_to_image(lab_to_srgb8(level, ab[0], table)))).int()
    exact = (gamut_map(level.float().view(1, 1, 40, 50) * 100 / (L_LEVELS - 1), ab.round(), steps=12) * 255 + 0.5).int()
    assert torch.equal(looked_up, exact[0].permute(1, 2, 0)), "the table holds exactly the gamut-mapped colours"
    # Against the unquantised input: a, b rounded to integers and L to 256 levels move a colour by a fraction
    # of a just-noticeable difference (about 1 in Lab units) and never change its lightness visibly. Only
    # near the gamut's cusps (e.g. bright yellow) can a 0.2 step in L let an out-of-gamut colour keep
    # visibly more chroma.
    unquantised = rgb_to_lab(gamut_map(L, ab, steps=12))
    out_lab = rgb_to_lab(looked_up.permute(2, 0, 1)[None].float() / 255)
    delta_e = (out_lab - unquantised).norm(dim=1)
    assert delta_e.mean() < 0.6 and delta_e.quantile(0.99) < 2.5
    assert (out_lab[:, :1] - L).abs().max() < 0.6


def test_in_gamut_colours_survive_the_table() -> None:
    rgb8 = np.random.default_rng(2).integers(0, 256, (30, 30, 3), dtype=np.uint8)
    lab = rgb_to_lab(torch.from_numpy(rgb8).permute(2, 0, 1)[None].float() / 255)
    _, level = lightness(rgb8)
    image = full_resolution_image(level, lab[:, 1:] / 110, srgb_table.srgb_table())
    assert image.size == (30, 30)
    out_lab = rgb_to_lab(torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255)
    delta_e = (out_lab - lab).norm(dim=1)
    assert delta_e.mean() < 0.6 and delta_e.max() < 2.0, "8-bit photos come back as they were, to 8-bit rounding"


@pytest.mark.slow
def test_a_damaged_table_file_is_rebuilt(tmp_path, caplog) -> None:
    good = srgb_table.srgb_table()
    assert not srgb_table._agrees_with_a_fresh_build(torch.zeros_like(good))
    assert srgb_table._agrees_with_a_fresh_build(good)
    path = tmp_path / srgb_table.TABLE_FILE
    path.write_bytes(b"\x93NUMPY truncated")
    earlier_version = tmp_path / "lab_to_srgb8_L256_ab110_v1.npy"
    earlier_version.write_bytes(b"an earlier layout")
    with caplog.at_level("WARNING"):
        rebuilt = srgb_table.srgb_table(tmp_path)
    assert "Cannot read the colour table" in caplog.text
    assert torch.equal(rebuilt, good)
    assert not earlier_version.exists(), "an earlier version's table is removed when the new one is saved"
    srgb_table.srgb_table.cache_clear()
    assert torch.equal(srgb_table.srgb_table(tmp_path), good), "the rebuilt file was saved and reads back"


@pytest.fixture(autouse=True)
def fresh_table_cache():
    yield
    srgb_table.srgb_table.cache_clear()


def test_byte_upsampling_stays_within_a_step_of_the_float_one() -> None:
    """predict's fast path (a, b rounded to bytes, then upsampled) against upsampling the floats."""
    table = srgb_table.srgb_table()
    generator = torch.Generator().manual_seed(3)
    level = torch.randint(0, L_LEVELS, (90, 130), dtype=torch.uint8, generator=generator)
    ab_small = (torch.rand(2, 12, 12, generator=generator) * 2 - 1) * AB_LIMIT
    fast = upsampled_to_srgb8(level, ab_small, table)
    ab = F.interpolate(ab_small[None], size=(90, 130), mode="bilinear", align_corners=False)[0]
    reference = lab_to_srgb8(level, ab, table)
    assert fast.shape == (90, 130) and fast.dtype == torch.int32
    fast_lab, reference_lab = (rgb_to_lab(unpacked(packed)) for packed in (fast, reference))
    delta_e = (fast_lab - reference_lab).norm(dim=1)
    assert delta_e.mean() < 0.5 and delta_e.quantile(0.99) < 2.5, "a or b one step apart at most, mapped alike"
    constant = upsampled_to_srgb8(level, torch.tensor([20.0, -30.0]).view(2, 1, 1).expand(2, 12, 12), table)
    same = lab_to_srgb8(level, torch.tensor([20.0, -30.0]).view(2, 1, 1).expand(2, 90, 130), table)
    assert torch.equal(constant, same), "a flat colour is exact"


def unpacked(packed: torch.Tensor) -> torch.Tensor:
    """Packed sRGB [H,W] int32 -> RGB [1,3,H,W] in [0, 1]."""
    return torch.from_numpy(np.array(packed_to_image(packed))).permute(2, 0, 1)[None].float() / 255


def test_the_model_input_from_levels_matches_resizing_the_exact_lightness() -> None:
    rgb8 = np.random.default_rng(4).integers(0, 256, (120, 90, 3), dtype=np.uint8)
    L, level = lightness(rgb8)
    exact = F.interpolate(L / 100, size=(32, 32), mode="bilinear", antialias=True)
    assert (model_input(level, 32) - exact).abs().max() < 0.001
    assert torch.equal(lightness_level(rgb8), level)
    assert torch.equal(lightness_level(rgb8[:, ::-1]), level.flip(1)), "a strided view reads the same"
