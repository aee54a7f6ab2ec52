"""bf16 only where the hardware computes it natively, and only for the network."""

from pathlib import Path

import pytest
import torch

from colorizer.data.synthetic import synthetic_landscapes
from colorizer.data.transforms import lab_batch
from colorizer.device import native_bf16, training_precision, use_bf16
from colorizer.losses import LossInputs
from colorizer.train import train
from colorizer.training.build import build_module, build_trainer
from tests.helpers.run_if import run_if


def cpu_has_native_bf16() -> bool:
    """Read from the kernel's CPU flags, independently of torch's own check."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    flags = set(next(line for line in lines if line.startswith("flags")).split())
    return bool({"avx512_bf16", "amx_bf16"} & flags)


@run_if(path="/proc/cpuinfo")
def test_auto_picks_bf16_exactly_where_the_cpu_has_it(make_cfg) -> None:
    native = cpu_has_native_bf16()
    assert native_bf16("cpu") is native
    assert use_bf16("auto", torch.device("cpu")) is native
    expected = "bf16-mixed" if native else "32-true"
    assert training_precision("auto", "cpu") == expected
    assert build_trainer(make_cfg("trainer.precision=auto")).precision == expected
    assert training_precision("bf16-mixed", "cpu") == "bf16-mixed" and training_precision(32, "cpu") == "32"


@pytest.mark.parametrize("loss", ["ssim", "mse"])
def test_under_bf16_autocast_the_net_is_bf16_and_the_loss_fp32(make_cfg, loss: str) -> None:
    module = build_module(make_cfg(f"loss={loss}"))
    batch = lab_batch(synthetic_landscapes(4, 32, seed=3))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result, pred_ab = module.score(batch)
    assert pred_ab.dtype == torch.bfloat16
    assert result.total.dtype == torch.float32 and all(v.dtype == torch.float32 for v in result.terms.values())
    in_fp32 = module.loss(LossInputs(batch["L"], pred_ab.float(), batch["ab"]))
    assert torch.allclose(result.total, in_fp32.total, rtol=1e-5, atol=1e-6)


def test_a_bf16_mixed_run_trains_and_scores(make_cfg) -> None:
    metrics = train(make_cfg("trainer.precision=bf16-mixed", "model=cae", "loss=ssim"))
    assert all(torch.isfinite(torch.tensor(metrics[key])) for key in ("test/psnr", "test/ssim", "train/loss_epoch"))
