"""Which device and precision to compute the network in.

bfloat16 only where the hardware computes it natively (AVX512-BF16 or AMX on a CPU, a CUDA GPU
that supports it): emulated bf16 is many times slower than fp32. So `auto` decides by the
hardware, never by the name of a model.
"""

import torch

INFERENCE_PRECISIONS = ("auto", "32", "bf16")


def native_bf16(device_type: str) -> bool:
    """Whether `device_type` ("cpu" or "cuda") computes bfloat16 natively."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    # Private but long-standing; it checks for AVX512-BF16 (AMX implies it).
    return device_type == "cpu" and getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to run the network under bfloat16 autocast for inference: `precision` is 32,
    bf16, or auto (bf16 where the hardware computes it natively)."""
    precision = str(precision)
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(f"precision={precision} is not one of {', '.join(INFERENCE_PRECISIONS)}.")
    if precision != "auto":
        return precision == "bf16"
    return native_bf16(device.type)


def training_precision(precision: str, accelerator: str) -> str:
    """Lightning's `precision` for the trainer: `auto` becomes `bf16-mixed` where the accelerator
    ("cpu", "gpu", "cuda" or "auto") computes bf16 natively, else `32-true`; any other value is
    passed through to Lightning unchanged."""
    if str(precision) != "auto":
        return str(precision)
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    device_type = "cuda" if on_gpu else "cpu"
    return "bf16-mixed" if native_bf16(device_type) else "32-true"


def resolve_device(name: str) -> torch.device:
    """The device `name` says: "auto" is CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
