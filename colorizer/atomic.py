"""Writing files whole or not at all: a temporary file beside the target, then a rename."""

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def process_umask() -> int:
    """This process's umask, read without changing it (os.umask would, for every thread at once):
    Linux's /proc/self/status, else the usual 0o022."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(handle)` on a temporary file in the target's folder, then rename it to `path`.

    A reader sees the old file or the complete new one, never a part; an interrupted write
    leaves no temporary file behind. Concurrent writers of the same path both succeed. The file
    gets the permissions a plain `open` would give it (0o666 less the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~process_umask())  # mkstemp's 0600 would hide outputs from everyone else
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
