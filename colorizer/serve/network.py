"""The inference worker's side of `colorizer.serve`: the loaded nets, run once per batch of
concurrent requests that LitServe's dynamic batching gathers.

Requests arrive already decoded (the HTTP side, `colorizer.serve.endpoint`, turns each photo
into the model's input in its own threads), so the worker only stacks inputs and runs nets:
decoding and encoding never wait for the network, nor the network for them."""

import signal
import time
from itertools import groupby
from typing import Any

import litserve as ls
import numpy as np
import torch

from colorizer.device import use_bf16
from colorizer.inference import TrainedColorizer, batch_hints, load_colorizer, predict_ab
from colorizer.models.heads import temperature_of


class ColorizerAPI(ls.LitAPI):
    """Runs the nets of `checkpoints` (label -> path). A request is a dict with `model` (a label),
    `temperature` (None: as trained), `input` [1,1,S,S] and `hints` ([1,3,S,S] or None), as numpy
    arrays, which pickle by value between processes; the answer is {"ab": [1,2,S,S], "network_ms",
    "batch_size"}. Rows of one batch that ask for different models or temperatures run as one
    sub-batch each. The worker's torch runs `threads` threads."""

    def __init__(self, checkpoints: dict[str, str], precision: str = "auto", threads: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checkpoints, self.precision, self.threads = checkpoints, precision, threads

    def setup(self, device: str) -> None:
        # Ctrl+C reaches the whole process group; the server stops this worker itself, without a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        torch.set_num_threads(self.threads)
        self.torch_device = torch.device(device)
        self.models: dict[str, TrainedColorizer] = {
            label: load_colorizer(path, self.torch_device) for label, path in self.checkpoints.items()
        }
        for model in self.models.values():
            model.net.to(memory_format=torch.channels_last)  # as in colorizer.predict: the faster layout
        self.trained_temperature = {label: temperature_of(model.net) for label, model in self.models.items()}
        self.bf16 = use_bf16(self.precision, self.torch_device)

    def decode_request(self, request: dict[str, Any]) -> dict[str, Any]:
        return request

    def predict(self, requests: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
        """A batch (a list: LitAPI.batch keeps dicts as one) or, with max_batch_size=1, one request."""
        if isinstance(requests, dict):
            return self._run([requests])[0]
        return self._run(requests)

    def encode_response(self, output: dict[str, Any]) -> dict[str, Any]:
        return output

    @torch.no_grad()
    def _run(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        start = time.perf_counter()
        answers: list[dict[str, Any]] = [{} for _ in requests]

        def setting(row: int) -> tuple[str, float]:
            request = requests[row]
            temperature = request["temperature"]
            trained = self.trained_temperature[request["model"]]
            return request["model"], trained if temperature is None else temperature

        for (label, temperature), rows in groupby(sorted(range(len(requests)), key=setting), key=setting):
            rows = list(rows)
            model = self.models[label]
            inputs = torch.from_numpy(np.concatenate([requests[row]["input"] for row in rows]))
            inputs = inputs.to(memory_format=torch.channels_last)
            hints = batch_hints([as_tensor(requests[row]["hints"]) for row in rows], model.image_size)
            # At the trained temperature the head's own decoding is the answer: no second one.
            decode_at = None if temperature == self.trained_temperature[label] else temperature
            ab = predict_ab(model.net, inputs, hints, self.torch_device, self.bf16, decode_at).cpu().numpy()
            for index, row in enumerate(rows):
                answers[row]["ab"] = ab[index : index + 1]
        network_ms = (time.perf_counter() - start) * 1000
        for answer in answers:
            answer.update(network_ms=network_ms, batch_size=len(requests))
        return answers


def as_tensor(array: np.ndarray | None) -> torch.Tensor | None:
    return None if array is None else torch.from_numpy(array)
