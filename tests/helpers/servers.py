"""Test helpers for what runs as a user would see it: a server process on a free loopback port,
and headless Chromium (Debian's package) to look at it."""

import subprocess
from pathlib import Path

import pytest

from tests.helpers import server_process

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    """Poll `url` until it answers 200; fail the test with the server's log if it never does."""
    try:
        server_process.wait_for_http(url, process, log, timeout)
    except server_process.ServerStartError as error:
        pytest.fail(str(error))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
