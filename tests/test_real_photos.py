"""Quality on real photographs: a short training must beat the gray baseline on held-out images."""

import pytest

from colorizer.train import train
from tests.helpers.run_if import shared_photos


@pytest.mark.slow
def test_unet_beats_the_gray_baseline_on_held_out_landscapes(make_cfg) -> None:
    root = shared_photos("landscapes150")
    cfg = make_cfg(
        "data=landscape",
        f"data.source.root={root}",
        "model=unet",
        "loss=mse",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        tiny=False,
    )
    metrics = train(cfg)
    assert metrics["test/gray_psnr"] == pytest.approx(23.6, abs=0.5), "the landscape gray baseline is about 23.6 dB"
    assert metrics["test/psnr_gain"] > 0, metrics
    assert metrics["test/rmse_ab"] < metrics["test/gray_rmse_ab"], metrics
