"""Opening image files of any mode as 8-bit RGB, and fitting them to a square."""

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorizer.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def list_image_files(root: Path, recursive: bool = True, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[Path]:
    """Sorted files under `root` whose extension is one of `extensions`. Raises FileNotFoundError
    when there are none. Empty folders and broken links named like images are kept, so that they
    are reported as unreadable rather than silently ignored; folders with content are not."""
    pattern = "**/*" if recursive else "*"
    files = sorted(p for p in root.glob(pattern) if p.suffix.lower() in extensions)
    files = [p for p in files if not (p.is_dir() and any(p.iterdir()))]
    if not files:
        searched = ", ".join(extensions)
        raise FileNotFoundError(f"No images in {root} (searched {'recursively ' if recursive else ''}for {searched}).")
    return files


class ImageDecodeError(UserError, ValueError):
    """A file could not be turned into an RGB image; the message says why."""


class ImageTooLargeError(ImageDecodeError):
    """An image with more pixels than allowed, told from its header before it is decoded."""


def _high_bit_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit and float grayscale ('I;16', 'I', 'F') to 8-bit 'L'; Pillow's convert would clip."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F" and values.max(initial=0) <= 1.0:
        values = values * 255.0
    elif values.max(initial=0) > 255:
        values = values / 257.0
    return Image.fromarray(np.clip(values + 0.5, 0, 255).astype(np.uint8), mode="L")


TRANSPARENT_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def has_colour(rgb: np.ndarray, threshold: float = 2.0) -> bool:
    """Whether uint8 RGB [H,W,3] is more than gray: the mean per-pixel channel spread (max - min)
    reaches `threshold` (JPEG noise of a gray photo stays below 2)."""
    spread = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2).astype(np.int16)
    return float(spread.mean()) >= threshold


def has_alpha(image: Image.Image) -> bool:
    return image.mode in TRANSPARENT_MODES or (image.mode == "P" and "transparency" in image.info)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 'RGB'. Transparent areas are composited onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = _high_bit_depth_to_l(image)
    if has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Any Pillow mode to ('RGB' of the colour channels as they are, 'L' alpha or None when opaque)."""
    if not has_alpha(image):
        return to_rgb(image), None
    rgba = image.convert("RGBA")
    return rgba.convert("RGB"), rgba.getchannel("A")


def with_alpha(image: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """'RGB' `image` with `alpha` ('L') as its transparency again: the inverse of `split_alpha`."""
    return image if alpha is None else Image.merge("RGBA", (*image.split(), alpha))


def _open_upright(source: str | Path | BinaryIO, draft_size: int | None, max_pixels: int | None = None) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if max_pixels is not None and width * height > max_pixels:
                    raise ImageTooLargeError(
                        f"{width}x{height} is {width * height:,} pixels, over the limit of {max_pixels:,}"
                    )
                if draft_size is not None and image.format == "JPEG":
                    image.draft("RGB", (draft_size, draft_size))
                ImageOps.exif_transpose(image, in_place=True)  # loads it; a copy otherwise, 0.1 ms a photo
                return image
    except ImageTooLargeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLargeError(f"refused as a possible decompression bomb: {error}") from error
    except UnidentifiedImageError:
        raise ImageDecodeError("not an image file in a format Pillow reads") from None
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ...
        raise ImageDecodeError(f"{type(error).__name__}: {error}") from error


def open_rgb(path: str | Path, draft_size: int | None = None) -> Image.Image:
    """Open a file as an upright (EXIF-rotated) RGB image, transparency composited onto white.

    `draft_size` lets the JPEG decoder downscale while decoding when only a small image is
    needed. Raises ImageDecodeError for anything that is not a readable image, including
    decompression bombs.
    """
    return to_rgb(_open_upright(path, draft_size))


def open_photo(source: str | Path | BinaryIO, max_pixels: int | None = None) -> tuple[Image.Image, Image.Image | None]:
    """Open a file (or a file object) as upright ('RGB' colour channels, 'L' alpha or None), for
    outputs that keep the transparency of their input. Raises ImageDecodeError like `open_rgb`,
    ImageTooLargeError for more than `max_pixels` pixels or a decompression bomb."""
    return split_alpha(_open_upright(source, None, max_pixels))


def fit_square(image: Image.Image, size: int) -> np.ndarray:
    """Resize the shorter side to `size` and centre-crop: uint8 [size,size,3]."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    fitted = image.resize(
        (size, size), Image.Resampling.BICUBIC, box=(left, top, left + side, top + side), reducing_gap=3.0
    )
    return np.asarray(fitted, dtype=np.uint8)


def decode_square(path: str | Path, size: int) -> np.ndarray:
    """Open, make RGB and fit to a square: uint8 [size,size,3]."""
    return fit_square(open_rgb(path, draft_size=size), size)
