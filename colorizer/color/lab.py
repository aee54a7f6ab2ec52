"""CIELAB normalisation used everywhere: L/100 is the network input, ab/110 its target.

Dividing ab by 110 maps the sRGB gamut (a in about [-86, 98], b in about [-108, 95]) into
[-1, 1], the range of the networks' tanh output.
"""

import torch
from kornia.color import lab_to_rgb, rgb_to_lab

from colorizer.color.checks import check_same_size, check_shape

L_SCALE = 100.0
AB_SCALE = 110.0


def rgb_to_normalized_lab(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split RGB in [0, 1] into the model's input and target.

    Args:
        rgb: [B,3,H,W] float RGB in [0, 1].

    Returns:
        (L, ab): L/100 as [B,1,H,W] in [0, 1] and ab/110 as [B,2,H,W] in about [-1, 1].
    """
    check_shape(rgb, "B,3,H,W", "rgb", "rgb_to_normalized_lab")
    lab = rgb_to_lab(rgb.float())
    return lab[:, :1] / L_SCALE, lab[:, 1:] / AB_SCALE


def _check_l_and_ab(L: torch.Tensor, ab: torch.Tensor, where: str) -> None:
    check_shape(L, "B,1,H,W", "L", where)
    check_shape(ab, "B,2,H,W", "ab", where)
    check_same_size(L, ab, "L and ab", where, slice(2, None))


def rebuild_rgb(L: torch.Tensor, ab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Join normalised L [B,1,H,W] and ab [B,2,H,W] and convert to RGB [B,3,H,W].

    `clip=False` keeps gradients for out-of-gamut colours (use it inside losses);
    `clip=True` clamps to [0, 1] (use it for metrics and display).
    """
    _check_l_and_ab(L, ab, "rebuild_rgb")
    lab = torch.cat([L.float() * L_SCALE, ab.float() * AB_SCALE], dim=1)
    return lab_to_rgb(lab, clip=clip)


def gray_rgb(L: torch.Tensor) -> torch.Tensor:
    """The gray baseline: normalised L [B,1,H,W] with ab = 0, as RGB [B,3,H,W] in [0, 1]."""
    check_shape(L, "B,1,H,W", "L", "gray_rgb")
    return rebuild_rgb(L, torch.zeros_like(L).expand(-1, 2, -1, -1))


def gamut_map(L: torch.Tensor, ab: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """RGB [B,3,H,W] in [0, 1] of Lab (L [B,1,H,W] in 0..100, ab [B,2,H,W] in Lab units),
    reducing each out-of-gamut pixel's chroma (never its L) until it fits.

    Clamping RGB instead would change the lightness of saturated dark or bright pixels. Gray
    (ab = 0) is always in gamut, so a bisection on the chroma scale converges; it runs only on
    the pixels that are out of gamut.
    """
    _check_l_and_ab(L, ab, "gamut_map")
    rgb = lab_to_rgb(torch.cat([L, ab], dim=1), clip=False)
    outside = ((rgb < 0) | (rgb > 1)).any(dim=1)  # [B,H,W]
    if outside.any():
        where = outside.nonzero(as_tuple=True)
        L_out = L[:, 0][where].view(1, 1, -1, 1)
        ab_out = ab.permute(0, 2, 3, 1)[where].T.reshape(1, 2, -1, 1)
        low, high = torch.zeros_like(L_out), torch.ones_like(L_out)
        for _ in range(steps):
            middle = (low + high) / 2
            trial = lab_to_rgb(torch.cat([L_out, ab_out * middle], dim=1), clip=False)
            fits = ((trial >= 0) & (trial <= 1)).all(dim=1, keepdim=True)
            low, high = torch.where(fits, middle, low), torch.where(fits, high, middle)
        fixed = lab_to_rgb(torch.cat([L_out, ab_out * low], dim=1), clip=False)
        rgb = rgb.permute(0, 2, 3, 1).clone()
        rgb[where] = fixed[0, :, :, 0].T
        rgb = rgb.permute(0, 3, 1, 2)
    return rgb.clamp(0, 1)
