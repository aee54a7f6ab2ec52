"""One colorization request over HTTP, read and checked before it reaches the network: the image
(the raw body, or the multipart field `image`), its options (query parameters or form fields),
and the errors a client is told. Nothing here needs LitServe: the tests call it directly."""

import io
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request

from colorizer.data.images import ImageDecodeError, ImageTooLargeError
from colorizer.inference import PreparedPhoto, prepare_photo
from colorizer.inference.hint_points import HintError

# format= -> (Pillow's format, the response's media type)
OUTPUT_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "jpg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}
OPTIONS = ("model", "temperature", "hints", "format", "compare")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class RequestError(Exception):
    """What the client did wrong: the HTTP status to answer and a message that names the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class ModelCard:
    """What the HTTP side knows of a loaded model: enough to check a request without the net."""

    label: str
    image_size: int
    takes_hints: bool
    temperature: float | None  # the trained decoding temperature; None for a net that regresses ab


@dataclass(frozen=True)
class Options:
    model: ModelCard
    temperature: float | None
    hints: list[dict[str, Any]] | None
    output_format: str  # a key of OUTPUT_FORMATS
    compare: bool


@dataclass
class Photo:
    """A decoded request: its options and the photo made ready for the network."""

    options: Options
    prepared: PreparedPhoto


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request's body, refused with 413 as soon as it passes `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise RequestError(413, f"the body is {int(declared):,} bytes, over the limit of {max_bytes:,} (max_bytes)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise RequestError(413, f"the body passed the limit of {max_bytes:,} bytes (max_bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError(400, "the client disconnected before the body was complete") from None
    return b"".join(chunks)


async def request_parts(request: Request, max_bytes: int) -> tuple[bytes, dict[str, str]]:
    """(the image file's bytes, the options) from a raw image body or a multipart form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, max_bytes)
    options = {key: value for key, value in request.query_params.items() if key in OPTIONS}
    if content_type == "multipart/form-data":
        replay_done = False

        async def replay() -> dict[str, Any]:  # the body was read already, with its limit
            nonlocal replay_done
            message = {"type": "http.request", "body": b"" if replay_done else body, "more_body": False}
            replay_done = True
            return message

        try:
            form = await Request(request.scope, replay).form(max_part_size=max_bytes)
        except Exception as error:  # starlette raises MultiPartException, or the parser's own errors
            raise RequestError(400, f"the multipart form cannot be read: {error}") from None
        image = form.get("image")
        if image is None or isinstance(image, str):
            raise RequestError(400, 'the multipart form has no file field named "image"')
        options |= {key: value for key, value in form.items() if key in OPTIONS and isinstance(value, str)}
        return await image.read(), options
    if content_type.startswith("image/") or content_type in ("application/octet-stream", ""):
        return body, options
    raise RequestError(
        415,
        f"Content-Type {content_type} is not an image: send the image as the body (image/...) or as the "
        'multipart field "image"',
    )


def parse_options(options: dict[str, str], models: dict[str, ModelCard]) -> Options:
    """The request's options checked against the model it asks for (the first model by default)."""
    label = options.get("model") or next(iter(models))
    if label not in models:
        raise RequestError(422, f"model={label!r} is not served; the models are: {', '.join(models)}")
    card = models[label]
    temperature = None
    if options.get("temperature") not in (None, ""):
        try:
            temperature = float(options["temperature"])
        except ValueError:
            raise RequestError(422, f"temperature={options['temperature']!r} is not a number") from None
        if card.temperature is None:
            raise RequestError(422, f"temperature applies to classification models; {label} regresses ab")
        if not (0 <= temperature < float("inf")):
            raise RequestError(422, f"temperature must be >= 0 (0 = the most likely colour), got {temperature}")
    output_format = options.get("format", "png").lower()
    if output_format not in OUTPUT_FORMATS:
        raise RequestError(422, f"format={output_format!r} is not one of png, jpeg, webp")
    compare = options.get("compare", "false").lower()
    if compare not in TRUE + FALSE:
        raise RequestError(422, f"compare={compare!r} is not true or false")
    return Options(card, temperature, parse_hints(options.get("hints"), card), output_format, compare in TRUE)


def parse_hints(text: str | None, card: ModelCard) -> list[dict[str, Any]] | None:
    """A JSON list of points as `colorize.predict`'s hints file holds per photo."""
    if text in (None, "", "[]"):
        return None
    if not card.takes_hints:
        raise RequestError(422, f"hints: {card.label} was trained without hints (model.hints=true takes them)")
    try:
        points = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(422, f"hints is not JSON: {error}") from None
    except RecursionError:  # the decoder recurses once per level of [[[...]]]
        raise RequestError(422, "hints is nested too deeply to be a list of points") from None
    if not isinstance(points, list):
        raise RequestError(422, 'hints must be a JSON list of points, e.g. [{"x": 120, "y": 45, "color": "#c0392b"}]')
    return points


def decode_photo(data: bytes, options: Options, max_pixels: int, hint_side: int) -> Photo:
    """Decode the image file and make the network's input. Raises RequestError: 400 for what is
    not a readable image, 413 for too many pixels, 422 for hints that do not fit the photo."""
    if not data:
        raise RequestError(400, "the request has no image: the body (or the field image) is empty")
    try:
        prepared = prepare_photo(io.BytesIO(data), options.model.image_size, options.hints, hint_side, max_pixels)
    except ImageTooLargeError as error:
        raise RequestError(413, f"the image is too large: {error} (max_pixels)") from None
    except ImageDecodeError as error:
        raise RequestError(400, f"the body is not a readable image: {error}") from None
    except HintError as error:
        raise RequestError(422, f"hints: {error}") from None
    if prepared.alpha is not None and OUTPUT_FORMATS[options.output_format][0] == "JPEG" and not options.compare:
        raise RequestError(422, "format=jpeg cannot keep the image's transparency: ask for png or webp")
    return Photo(options, prepared)
