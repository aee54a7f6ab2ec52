"""Images made for a test: folders of small files, photo-like images, a decompression bomb."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from colorizer.data.synthetic import synthetic_landscapes


def write_images(folder: Path, count: int, size: tuple[int, int] = (40, 30), seed: int = 0) -> list[Path]:
    """Write `count` small colourful JPEG and PNG files into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        base = rng.integers(0, 256, size=3)
        gradient = np.linspace(0, 80, size[0], dtype=np.float64)[None, :, None]
        pixels = np.clip(base + gradient + rng.normal(0, 10, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
        path = folder / (f"img{i}.jpg" if i % 2 else f"img{i}.png")
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth, photo-like colour image of the given size, different for each seed."""
    square = synthetic_landscapes(1, 128, seed=seed)[0].permute(1, 2, 0).numpy()
    return Image.fromarray(square).resize((width, height), Image.Resampling.BICUBIC)


def with_alpha_ramp(image: Image.Image) -> Image.Image:
    """The image as 'RGBA' with an alpha that rises from 0 at the left edge to 255 at the right."""
    width, height = image.size
    alpha = Image.fromarray(np.linspace(0, 255, width)[None, :].repeat(height, 0).astype(np.uint8))
    return Image.merge("RGBA", (*image.convert("RGB").split(), alpha))


def photo_bytes(width: int, height: int, seed: int, image_format: str = "JPEG", mode: str = "RGB") -> bytes:
    """`photo` encoded as a file would hold it ('RGBA': with `with_alpha_ramp`)."""
    image = photo(width, height, seed)
    if mode == "RGBA":
        image = with_alpha_ramp(image)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 92} if image_format == "JPEG" else {}))
    return buffer.getvalue()


def bomb_png_bytes(side: int = 200_000) -> bytes:
    """A valid PNG of a few bytes whose header declares side x side pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bomb_png(path: Path, side: int = 200_000) -> None:
    """A tiny PNG whose header declares side x side pixels."""
    path.write_bytes(bomb_png_bytes(side))
