"""Deterministic train / val / test splits, with K-fold rotation of validation."""

import math

import torch


def check_split_config(fractions: dict[str, float], num_folds: int, fold: int) -> None:
    """Raise ValueError with what to change when the split settings cannot work."""
    if set(fractions) != {"train", "val", "test"}:
        raise ValueError(f"data.splits needs exactly the keys train, val and test, got {sorted(fractions)}.")
    if any(value < 0 for value in fractions.values()) or fractions["train"] <= 0:
        raise ValueError(f"data.splits fractions must be >= 0 with train > 0, got {dict(fractions)}.")
    total = sum(fractions.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(
            f"data.splits fractions add up to {total:g}, not 1: {dict(fractions)}. "
            "Change them so that train + val + test = 1."
        )
    if num_folds < 1:
        raise ValueError(f"data.num_folds must be >= 1, got {num_folds}.")
    if not 0 <= fold < num_folds:
        raise ValueError(f"data.fold={fold} must be in [0, data.num_folds={num_folds}); folds count from 0.")


def split_indices(
    count: int, fractions: dict[str, float], seed: int, num_folds: int = 1, fold: int = 0
) -> dict[str, torch.Tensor]:
    """Shuffle `range(count)` with `seed` and cut it into train, val and test indices.

    The test part is the same whatever `num_folds` and `fold` are. With `num_folds > 1` the
    rest is cut into that many folds, validation is fold `fold` and training the others;
    otherwise validation takes the `val` fraction. Non-empty parts get at least one image.
    """
    check_split_config(fractions, num_folds, fold)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))

    def share(fraction: float) -> int:
        return max(1, round(fraction * count)) if fraction > 0 else 0

    test_count = share(fractions["test"])
    test, rest = order[:test_count], order[test_count:]
    if num_folds > 1:
        folds = torch.tensor_split(rest, num_folds)
        val = folds[fold]
        train = torch.cat([part for index, part in enumerate(folds) if index != fold])
    else:
        val_count = share(fractions["val"])
        val, train = rest[:val_count], rest[val_count:]
    if len(train) == 0:
        raise ValueError(f"{count} images are too few for the splits {dict(fractions)}: no training image is left.")
    return {"train": train.sort().values, "val": val.sort().values, "test": test.sort().values}


def keep_share(indices: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """At least one of `indices` [N], `fraction` of them, drawn in an order fixed by `seed`: the
    share kept at a smaller fraction is the start of the share kept at a larger one."""
    if fraction >= 1:
        return indices
    order = torch.randperm(len(indices), generator=torch.Generator().manual_seed(seed))
    return indices[order[: max(1, round(fraction * len(indices)))]]
