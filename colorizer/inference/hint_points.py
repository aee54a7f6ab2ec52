"""A person's hints: colour points in a photo's own pixels, checked and mapped to the model's input.

A hints file (`predict hints=hints.json`) maps each input's path relative to `input` (for a
single-file input: its file name) to a list of points, each `{"x": 120, "y": 45, "color":
"#c0392b"}` or `{"x": ..., "y": ..., "ab": [a, b]}` (CIELAB a*, b*). A point becomes a square
patch of `side` pixels at the model's size, centred where the photo is resized to.
"""

import json
import re
from pathlib import Path
from typing import Any

import torch

from colorizer.color import AB_SCALE, rgb_to_normalized_lab
from colorizer.data.hints import hint_channels
from colorizer.errors import UserError

HEX_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")
# CIELAB a* and b* of any colour lie within this.
AB_LIMIT = 128.0


class HintError(UserError, ValueError):
    """A hint that cannot be used; the message names the point and what is wrong with it."""


def read_hint_file(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """The hints file's object: input path -> list of points (checked later, per photo)."""
    path = Path(path).expanduser()
    try:
        hints = json.loads(path.read_text())
    except OSError as error:
        raise HintError(f"hints_file={path} cannot be read: {error.strerror or error}.") from None
    except json.JSONDecodeError as error:
        raise HintError(f"hints_file={path} is not JSON: {error}.") from None
    except RecursionError:  # the decoder recurses once per level of [[[...]]]
        raise HintError(f"hints_file={path} is nested too deeply to be an object of points.") from None
    if not isinstance(hints, dict) or not all(isinstance(points, list) for points in hints.values()):
        raise HintError(f"hints_file={path} must be a JSON object from each input's path to a list of points.")
    return hints


def point_ab(point: dict[str, Any]) -> torch.Tensor:
    """A point's colour as normalised ab [2]: from "color" (#rrggbb) or "ab" ([a*, b*])."""
    if "color" in point:
        match = HEX_COLOUR.match(str(point["color"]))
        if not match:
            raise HintError(f"color={point['color']!r} is not a #rrggbb colour")
        rgb = torch.tensor([int(match[1][i : i + 2], 16) / 255 for i in (0, 2, 4)]).view(1, 3, 1, 1)
        return rgb_to_normalized_lab(rgb)[1].view(2)
    if "ab" in point:
        ab = point["ab"]
        if not (isinstance(ab, list) and len(ab) == 2 and all(isinstance(v, int | float) for v in ab)):
            raise HintError(f"ab={ab!r} is not two numbers [a, b]")
        if any(abs(v) > AB_LIMIT for v in ab):
            raise HintError(f"ab={ab} is outside CIELAB's [-{AB_LIMIT:g}, {AB_LIMIT:g}]")
        return torch.tensor([float(v) / AB_SCALE for v in ab])
    raise HintError('it has neither "color" (#rrggbb) nor "ab" ([a, b])')


def point_centre(point: dict[str, Any], photo_size: tuple[int, int], model_size: int) -> tuple[int, int]:
    """A point at (x, y) in a photo of `photo_size` (width, height) as the pixel (x, y) of the
    model's [S,S] input it falls on."""
    width, height = photo_size
    x, y = point.get("x"), point.get("y")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        raise HintError('it needs numbers "x" and "y" (pixels from the top left)')
    if not (0 <= x < width and 0 <= y < height):
        raise HintError(f"(x={x}, y={y}) is outside the {width}x{height} image")
    return int(x * model_size / width), int(y * model_size / height)


def patch_box(centre_x: int, centre_y: int, model_size: int, side: int) -> tuple[int, int, int]:
    """(top, left, side) of a patch of `side` pixels centred on (centre_x, centre_y), kept inside [S,S]."""
    side = max(1, min(side, model_size))
    top = min(max(centre_y - side // 2, 0), model_size - side)
    left = min(max(centre_x - side // 2, 0), model_size - side)
    return top, left, side


def point_box(point: dict[str, Any], photo_size: tuple[int, int], model_size: int, side: int) -> tuple[int, int, int]:
    """A point at (x, y) in a photo of `photo_size` (width, height) as a box (top, left, side)
    in the model's [S,S] input, kept inside it."""
    return patch_box(*point_centre(point, photo_size, model_size), model_size, side)


def user_hints(
    points: list[dict[str, Any]], photo_size: tuple[int, int], model_size: int, side: int = 3
) -> torch.Tensor:
    """Hint channels [1,3,S,S] for one photo's points. Raises HintError naming the first bad
    point (by its position in the list, from 1)."""
    boxes, colours = [], []
    for number, point in enumerate(points, start=1):
        try:
            if not isinstance(point, dict):
                raise HintError("it is not an object with x, y and color")
            boxes.append(point_box(point, photo_size, model_size, side))
            colours.append(point_ab(point))
        except HintError as error:
            raise HintError(f"point {number} {json.dumps(point)}: {error}") from None
    stacked = torch.stack(colours) if colours else torch.zeros(0, 2)
    return hint_channels((1, model_size, model_size), [boxes], [stacked])
