"""Writing files whole or not at all: a temporary file beside the target, then a rename."""

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(handle)` on a temporary file in the target's folder, then rename it to `path`.

    A reader sees the old file or the complete new one, never a part; an interrupted write
    leaves no temporary file behind. Concurrent writers of the same path both succeed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """`atomic_write` for UTF-8 text."""
    atomic_write(path, lambda handle: handle.write(text.encode()))
