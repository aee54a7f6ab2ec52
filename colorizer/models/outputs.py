"""What a colorization net returns."""

from dataclasses import dataclass, replace

import torch

from colorizer.color.bins import AbClasses


@dataclass
class NetOutput:
    """ab: [B,2,H,W] in about [-1, 1]; kl: scalar KL divergence of a variational net, else None;
    classes: the bin logits of a classification head, else None."""

    ab: torch.Tensor
    kl: torch.Tensor | None = None
    classes: AbClasses | None = None

    def crop(self, height: int, width: int) -> "NetOutput":
        """The output for the top-left height x width pixels (undoing the input padding)."""
        classes = self.classes
        if classes is not None:
            classes = replace(classes, logits=classes.logits[..., :height, :width])
        return replace(self, ab=self.ab[..., :height, :width], classes=classes)
