"""8-bit sRGB <-> CIELAB through lookup tables, for full-resolution prediction.

On a CPU, kornia's float conversion of a 768x512 photo plus the gamut mapping of its saturated
pixels costs tens of milliseconds, more than decoding and encoding the file. Both directions
here give kornia's result up to 8-bit rounding, one table lookup per pixel:

- L of an 8-bit RGB pixel: three per-channel luminance tables, then L from the luminance.
- RGB of (L, a, b): a table of the gamut-mapped 8-bit sRGB of every (L level, integer a,
  integer b) (L in 256 steps of 100/255, about the spacing of 8-bit gray levels; a and b in
  steps of 1 over a byte each, offset by 128). The index is b, a and the level as three bytes,
  the level lowest: neighbouring pixels share their ab, so their entries lie within a kilobyte
  of each other and the lookup stays in the CPU's caches. It is computed once (a few seconds) and
  kept in the user's cache folder. The result is within 1 ΔE of the exact conversion on average;
  only near the gamut's cusps (bright yellow, for one) can an out-of-gamut prediction keep
  visibly more or less chroma than mapping it at the unrounded L would give.
"""

import functools
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorizer.atomic import atomic_write
from colorizer.color import AB_SCALE, gamut_map
from colorizer.color.checks import check_same_size, check_shape
from colorizer.config import default_cache_dir

log = logging.getLogger(__name__)

L_LEVELS = 256
AB_LIMIT = int(AB_SCALE)  # tanh outputs times AB_SCALE never leave [-110, 110]
AB_OFFSET = 128  # an integer a or b is stored as a + AB_OFFSET, one byte
TABLE_FILE = f"lab_to_srgb8_L{L_LEVELS}_ab{AB_LIMIT}_v2.npy"

# Luminance in units of 1/LUMINANCE_UNITS, so a pixel's three table entries sum in uint16 without overflow.
LUMINANCE_UNITS = 65_000
_SRGB_WEIGHTS = (0.212671, 0.715160, 0.072169)  # kornia's row of the sRGB -> XYZ matrix for Y


def _luminance_tables() -> np.ndarray:
    """[3,256] uint16: each channel's 8-bit value -> its share of the relative luminance Y."""
    values = np.arange(256, dtype=np.float64) / 255
    linear = np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92)
    return np.rint(np.outer(_SRGB_WEIGHTS, linear) * LUMINANCE_UNITS).astype(np.uint16)


def _lightness_of_luminance() -> np.ndarray:
    """[LUMINANCE_UNITS + 3] float32: CIELAB L (0..100) of each luminance step."""
    y = np.arange(LUMINANCE_UNITS + 3, dtype=np.float64) / LUMINANCE_UNITS
    f = np.where(y > 0.008856, np.cbrt(np.maximum(y, 0.008856)), 7.787 * y + 4 / 29)
    return (116 * f - 16).astype(np.float32)


_LUMINANCE = _luminance_tables()
# Red's and green's shares summed for every pair, at green << 8 | red: one lookup for both.
_GREEN_RED = (_LUMINANCE[0][None, :] + _LUMINANCE[1][:, None]).reshape(-1)
_LIGHTNESS = _lightness_of_luminance()
_LEVEL = np.rint(_LIGHTNESS.clip(0, 100) * (L_LEVELS - 1) / 100).astype(np.uint8)


def _luminance(rgb8: np.ndarray, where: str) -> np.ndarray:
    """[H,W] uint16: the relative luminance of 8-bit RGB [H,W,3] in units of 1/LUMINANCE_UNITS."""
    if rgb8.dtype != np.uint8 or rgb8.ndim != 3 or rgb8.shape[2] != 3:
        raise ValueError(f"{where}: rgb8 must be [H,W,3] uint8, got {rgb8.dtype} of shape {list(rgb8.shape)}")
    rgb8 = np.ascontiguousarray(rgb8)
    height, width, _ = rgb8.shape
    # Each pixel's red and green bytes read as one little-endian 16-bit number, green << 8 | red.
    green_red = np.ndarray((height, width), dtype="<u2", buffer=rgb8, strides=(width * 3, 3))
    y = np.take(_GREEN_RED, green_red)
    y += np.take(_LUMINANCE[2], rgb8[..., 2])
    return y


def lightness_level(rgb8: np.ndarray) -> torch.Tensor:
    """The table level 0..255 (L * 255 / 100, rounded) of each pixel of 8-bit RGB [H,W,3], uint8 [H,W]."""
    return torch.from_numpy(np.take(_LEVEL, _luminance(rgb8, "lightness_level")))


def lightness(rgb8: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """CIELAB L of an 8-bit RGB image [H,W,3] as kornia's rgb_to_lab computes it (to within 0.02).

    Returns:
        (L, level): L in 0..100 as float [1,1,H,W], and its table level 0..255 as uint8 [H,W].
    """
    y = _luminance(rgb8, "lightness")
    return torch.from_numpy(np.take(_LIGHTNESS, y))[None, None], torch.from_numpy(np.take(_LEVEL, y))


TABLE_SIZE = 256**3


def table_entries(index: torch.Tensor) -> torch.Tensor:
    """The table's entries at flat indices [N] (index = (b + AB_OFFSET) << 16 | (a + AB_OFFSET) << 8
    | level): gamut-mapped 8-bit sRGB packed as R | G << 8 | B << 16, int32 [N]."""
    L = ((index & 255).float() * 100 / (L_LEVELS - 1)).view(1, 1, -1, 1)
    ab = torch.stack([(index >> 8) & 255, index >> 16]).float().sub(AB_OFFSET).view(1, 2, -1, 1)
    rgb = (gamut_map(L, ab, steps=12) * 255 + 0.5).to(torch.int32)[0, :, :, 0]
    return rgb[0] | rgb[1] << 8 | rgb[2] << 16


def build_table(chunk: int = 1 << 20) -> torch.Tensor:
    """All TABLE_SIZE entries (see `table_entries`), computed `chunk` at a time to bound memory."""
    return torch.cat(
        [table_entries(torch.arange(first, min(first + chunk, TABLE_SIZE))) for first in range(0, TABLE_SIZE, chunk)]
    )


def _agrees_with_a_fresh_build(table: torch.Tensor) -> bool:
    """Recompute a sample of entries: a damaged or foreign file must not colour photos wrongly."""
    if table.shape != (TABLE_SIZE,) or table.dtype != torch.int32:
        return False
    sample = torch.randint(0, TABLE_SIZE, (4096,), generator=torch.Generator().manual_seed(0))
    return bool(torch.equal(table_entries(sample), table[sample]))


@functools.cache
def srgb_table(cache_dir: Path | None = None) -> torch.Tensor:
    """The Lab -> sRGB table (see `build_table`), read from `cache_dir` or built and saved there."""
    path = (cache_dir or default_cache_dir()) / TABLE_FILE
    if path.is_file():
        try:
            table = torch.from_numpy(np.load(path))
        except (OSError, ValueError) as error:
            log.warning("Cannot read the colour table %s (%s); rebuilding it.", path, error)
        else:
            if _agrees_with_a_fresh_build(table):
                return table
            log.warning("The colour table %s does not match a fresh computation; rebuilding it.", path)
    log.info("Building the Lab -> sRGB table (once, a few seconds) into %s", path)
    table = build_table()
    try:
        atomic_write(path, lambda handle: np.save(handle, table.numpy()))
        for earlier in path.parent.glob("lab_to_srgb8_*.npy"):  # an earlier version's table, 50 MB unused
            if earlier != path:
                earlier.unlink(missing_ok=True)
    except OSError as error:
        log.warning("Cannot save the colour table to %s (%s); it will be rebuilt next time.", path, error)
    return table


def _look_up(ab_bytes: torch.Tensor, level: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Packed sRGB [H,W] int32 of `ab_bytes` [H,W] (a + AB_OFFSET | (b + AB_OFFSET) << 8, any
    integer type) and levels [H,W] uint8."""
    if level.device.type == "cpu":
        # NumPy's take on int64 indices: 2x torch.take, and 3x NumPy's own on int32 (it converts them slowly).
        index = ab_bytes.numpy().astype(np.int64)
        index <<= 8
        index |= level.numpy()
        return torch.from_numpy(np.take(table.numpy(), index))
    return torch.take(table, ab_bytes.long() << 8 | level.long())


def _ab_bytes(ab: torch.Tensor) -> torch.Tensor:
    """ab in Lab units plus AB_OFFSET + 0.5, within +-AB_LIMIT (float, any shape): converted to an
    integer type, each value is its ab rounded, as a table index byte."""
    return (ab.float() + (AB_OFFSET + 0.5)).clamp_(AB_OFFSET - AB_LIMIT, AB_OFFSET + AB_LIMIT)


def lab_to_srgb8(level: torch.Tensor, ab: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Packed 8-bit sRGB [H,W] int32 (R | G << 8 | B << 16) of L levels [H,W] and ab [2,H,W] in Lab
    units (rounded to integers), gamut-mapped. `table` must be on the same device as the inputs."""
    check_shape(level, "H,W", "level", "lab_to_srgb8")
    check_shape(ab, "2,H,W", "ab", "lab_to_srgb8")
    check_same_size(level, ab[0], "level and ab", "lab_to_srgb8", slice(None))
    ab_bytes = _ab_bytes(ab).to(torch.int32)
    return _look_up(ab_bytes[0] | ab_bytes[1] << 8, level, table)


def upsampled_to_srgb8(level: torch.Tensor, ab_small: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """`lab_to_srgb8` of ab [2,S,S] (Lab units) upsampled bilinearly to the levels' size [H,W].

    On a CPU, a and b are rounded to bytes first and upsampled as bytes (the vectorised 4-channel
    kernel; 8x the float one on a 768x512 photo), so each pixel may land one step of a or b from
    rounding the upsampled floats. The bytes then read directly as the table index."""
    check_shape(ab_small, "2,S,S", "ab_small", "upsampled_to_srgb8")
    height, width = level.shape
    if level.device.type != "cpu":
        ab = F.interpolate(ab_small[None].float(), size=(height, width), mode="bilinear", align_corners=False)
        return lab_to_srgb8(level, ab[0], table)
    channels = torch.zeros(1, 4, *ab_small.shape[1:], dtype=torch.uint8).contiguous(memory_format=torch.channels_last)
    channels[0, :2] = _ab_bytes(ab_small).to(torch.uint8)
    upsampled = F.interpolate(channels, size=(height, width), mode="bilinear", align_corners=False)
    # Channels last: each pixel's bytes a, b, 0, 0 in a row, one little-endian int32 a | b << 8.
    packed_ab = upsampled.permute(0, 2, 3, 1).contiguous().view(torch.int32)[0, :, :, 0]
    return _look_up(packed_ab, level, table)


def packed_to_rgbx(packed: torch.Tensor) -> np.ndarray:
    """[H,W] int32 from `lab_to_srgb8` -> [H,W,4] uint8 R, G, B, 0 (a view, no copy)."""
    height, width = packed.shape
    return packed.cpu().numpy().view(np.uint8).reshape(height, width, 4)


def packed_to_image(packed: torch.Tensor) -> Image.Image:
    """[H,W] int32 from `lab_to_srgb8` -> 8-bit RGB image (bytes 0-2 of each little-endian int)."""
    height, width = packed.shape
    return Image.frombytes("RGB", (width, height), packed.cpu().numpy(), "raw", "RGBX")
