"""Input checks for the colour functions, as kornia's KORNIA_CHECK_SHAPE: a wrong shape is named
with the function, the argument, the shape expected and the shape received."""

import torch


def check_shape(tensor: torch.Tensor, expected: str, name: str, where: str) -> None:
    """Raise ValueError unless `tensor` has the shape `expected`, e.g. "B,3,H,W": a number must
    match that size exactly, a letter any size."""
    dims = expected.split(",")
    shape = list(tensor.shape)
    if len(shape) != len(dims) or any(d.isdigit() and int(d) != size for d, size in zip(dims, shape, strict=True)):
        raise ValueError(f"{where}: {name} must be [{expected}], got shape {shape}")


def check_same_size(first: torch.Tensor, second: torch.Tensor, names: str, where: str, dims: slice) -> None:
    """Raise ValueError unless the two tensors agree on the dimensions `dims` (e.g. batch and
    spatial), naming them as `names` ("L and ab")."""
    if first.shape[dims] != second.shape[dims]:
        raise ValueError(f"{where}: {names} differ in size: {list(first.shape)} and {list(second.shape)}")
