"""`python -m colorizer.serve` as a user starts it, on a free loopback port, for the tests and the
serve benchmark: started, waited for, measured (resident memory of its processes) and stopped."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from colorizer.config import REPO, compose_command_config


class ServerStartError(RuntimeError):
    """The server exited or never answered; the message holds the end of its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def default_unet_checkpoint(path: Path, overrides: list[str] | None = None) -> Path:
    """A checkpoint of the default training config's net (`python -m colorizer.train` with
    `overrides`) at its initial weights: what it predicts does not change the time it takes."""
    cfg = compose_command_config("train", overrides or [])
    net = instantiate(cfg.model)
    config = {"model": OmegaConf.to_container(cfg.model, resolve=True), "data": {"image_size": cfg.data.image_size}}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"colorizer_config": config, "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}}, path)
    return path


def tree_rss_mb(pid: int) -> float:
    """Resident memory of `pid` and every process below it, in MB (Linux's /proc)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0)
        pending.extend(int(child) for child in children)
    return total


@contextmanager
def running_server(overrides: list[str], log: Path, timeout: float = 180.0) -> Iterator[tuple[str, int]]:
    """(base URL, pid) of `python -m colorizer.serve <overrides>` on a free loopback port,
    stopped with its workers on exit. Raises ServerStartError with the log's end when it does not come up."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "colorizer.serve",
        *overrides,
        "host=127.0.0.1",
        f"port={port}",
        f"hydra.run.dir={log.parent / ('serve-' + str(port))}",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(args, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", process, log, timeout)
        yield url, process.pid
    finally:
        stop_process_group(process)


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    """Poll `url` until it answers 200. Raises ServerStartError with the log's end when the
    process exits first or `url` never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"The server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise ServerStartError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM to the server and its workers, SIGKILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the workers too, when the server left them behind
    process.wait()
