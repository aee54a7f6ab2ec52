"""CIELAB normalisation used everywhere: L/100 is the network input, ab/110 its target.

Dividing ab by 110 maps the sRGB gamut (a in about [-86, 98], b in about [-108, 95]) into
[-1, 1], the range of the networks' tanh output.
"""

import torch
from kornia.color import lab_to_rgb, rgb_to_lab

L_SCALE = 100.0
AB_SCALE = 110.0


def rgb_to_normalized_lab(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split RGB in [0, 1] into the model's input and target.

    Args:
        rgb: [B,3,H,W] float RGB in [0, 1].

    Returns:
        (L, ab): L/100 as [B,1,H,W] in [0, 1] and ab/110 as [B,2,H,W] in about [-1, 1].
    """
    lab = rgb_to_lab(rgb.float())
    return lab[:, :1] / L_SCALE, lab[:, 1:] / AB_SCALE


def rebuild_rgb(L: torch.Tensor, ab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Join normalised L [B,1,H,W] and ab [B,2,H,W] and convert to RGB [B,3,H,W].

    `clip=False` keeps gradients for out-of-gamut colours (use it inside losses);
    `clip=True` clamps to [0, 1] (use it for metrics and display).
    """
    lab = torch.cat([L.float() * L_SCALE, ab.float() * AB_SCALE], dim=1)
    return lab_to_rgb(lab, clip=clip)


def gray_rgb(L: torch.Tensor) -> torch.Tensor:
    """The gray baseline: normalised L [B,1,H,W] with ab = 0, as RGB [B,3,H,W] in [0, 1]."""
    return rebuild_rgb(L, torch.zeros_like(L).expand(-1, 2, -1, -1))
