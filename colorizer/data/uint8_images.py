"""A dataset over rows of one uint8 image tensor, batched with one indexing call."""

import torch
from torch.utils.data import Dataset


class UInt8Images(Dataset):
    """A view of some rows of a uint8 image tensor [N,3,S,S]. Batches are fetched with one
    fancy-indexing call (`__getitems__`) instead of N `__getitem__` calls and a collate."""

    def __init__(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        self.images = images
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[self.indices[index]]

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        return self.images[self.indices[torch.as_tensor(indices)]]


def keep_batch(batch: torch.Tensor) -> torch.Tensor:
    """Collate for `UInt8Images`: the batch is already one tensor."""
    return batch
