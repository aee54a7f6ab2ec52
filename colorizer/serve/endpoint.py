"""The HTTP side of `colorizer.serve`: `POST /predict` as a LitServe spec.

A spec, not LitServe's default endpoint, for two reasons: the default one reads a body only as
JSON or a form (a raw `image/...` body would be a 500), and in a batched worker an error raised
while decoding one request fails every request of its batch. Here each request is read, checked
and decoded in the API server's threads, and only a valid one is queued for the network; the
answer is coloured at full resolution and encoded in those threads too."""

import asyncio
import io
import logging
import pickle
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import litserve as ls
import numpy as np
import torch
from litserve.specs.base import LitSpec
from litserve.utils import LitAPIStatus, ResponseBufferItem
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from colorizer.color.srgb_table import srgb_table
from colorizer.data.images import with_alpha
from colorizer.inference import full_resolution_image
from colorizer.inference.outputs import comparison_panel, save_options
from colorizer.serve.requests import (
    OUTPUT_FORMATS,
    ModelCard,
    Photo,
    RequestError,
    decode_photo,
    parse_options,
    request_parts,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    hint_side: int = 3
    jpeg_quality: int = 95


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def worker_error(response: Any) -> JSONResponse:
    """The answer for a request the worker could not serve (a timeout, a failed network)."""
    if isinstance(response, bytes):
        try:
            response = pickle.loads(response)
        except Exception:  # an error the worker could not pickle faithfully
            response = RuntimeError("the network failed")
    status = getattr(response, "status_code", 500)
    detail = getattr(response, "detail", None) or str(response)
    if status >= 500:
        log.error("the network could not answer a request: %s", detail)
    return error_response(status, f"the server could not colorize the image: {detail}")


def encode_answer(photo: Photo, ab: np.ndarray, table: torch.Tensor, jpeg_quality: int) -> bytes:
    """The colorized photo at its own size (its original L, its alpha) as the requested format;
    with `compare`, the panel gray | colorized | truth instead."""
    prepared, options = photo.prepared, photo.options
    colorized = full_resolution_image(prepared.level, torch.from_numpy(ab), table)
    image: Image.Image = (
        comparison_panel(prepared.image, colorized) if options.compare else with_alpha(colorized, prepared.alpha)
    )
    image_format = OUTPUT_FORMATS[options.output_format][0]
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **save_options(image_format, jpeg_quality))
    return buffer.getvalue()


class ColorizeSpec(LitSpec):
    """`POST /predict`: the image as the raw body (`Content-Type: image/...`) or as the multipart
    field `image`; options `model`, `temperature`, `hints`, `format`, `compare` as query
    parameters or form fields. Answers the image, or `{"error": ...}` with a 4xx status."""

    def __init__(self, models: dict[str, ModelCard], limits: Limits, table_dir: Path | None) -> None:
        super().__init__()
        self.api_path = "/predict"
        self.models, self.limits, self.table_dir = models, limits, table_dir
        self._table: torch.Tensor | None = None

    def __getstate__(self) -> dict[str, Any]:
        return super().__getstate__() | {"_table": None}

    def pre_setup(self, lit_api: ls.LitAPI) -> None:
        self.add_endpoint(self.api_path, self.predict_endpoint, ["POST"])

    def decode_request(self, request: dict[str, Any], context_kwargs: dict | None = None) -> dict[str, Any]:
        return request

    def encode_response(self, output: dict[str, Any], context_kwargs: dict | None = None) -> dict[str, Any]:
        return output

    def table(self) -> torch.Tensor:
        """The colour table, read (or built) once in the API server's process, never pickled."""
        if self._table is None:
            self._table = srgb_table(self.table_dir)
        return self._table

    async def predict_endpoint(self, request: Request) -> Response:
        start = time.perf_counter()
        try:
            data, raw_options = await request_parts(request, self.limits.max_bytes)
            options = parse_options(raw_options, self.models)
            photo = await run_in_threadpool(decode_photo, data, options, self.limits.max_pixels, self.limits.hint_side)
        except RequestError as error:
            return error_response(error.status, error.message)
        answer, status = await self._colorize_on_worker(photo)
        if status == LitAPIStatus.ERROR:
            return worker_error(answer)
        body = await run_in_threadpool(encode_answer, photo, answer["ab"], self.table(), self.limits.jpeg_quality)
        headers = {
            "X-Colorizer-Model": options.model.label,
            "X-Colorizer-Time-Ms": f"{(time.perf_counter() - start) * 1000:.1f}",
            "X-Colorizer-Network-Ms": f"{answer['network_ms']:.1f}",
            "X-Colorizer-Batch-Size": str(answer["batch_size"]),
        }
        return Response(body, media_type=OUTPUT_FORMATS[options.output_format][1], headers=headers)

    async def _colorize_on_worker(self, photo: Photo) -> tuple[Any, LitAPIStatus]:
        """Queue the network's input as LitServe's own specs do, and wait for the worker's answer."""
        uid = uuid.uuid4()
        event = asyncio.Event()
        self.response_buffer[uid] = ResponseBufferItem(event=event)
        options, prepared = photo.options, photo.prepared
        # numpy, not tensors: they pickle by value to the worker, with no shared-memory handles
        payload = {
            "model": options.model.label,
            "temperature": options.temperature,
            "input": prepared.model_input.numpy(),
            "hints": None if prepared.hints is None else prepared.hints.numpy(),
        }
        self.request_queue.put((self.response_queue_id, uid, time.monotonic(), payload))
        await event.wait()
        return self.response_buffer.pop(uid).response
