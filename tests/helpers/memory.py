"""How much memory a process has used (Linux's /proc)."""

import contextlib
import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. Linux's VmHWM, because `ru_maxrss` carries the
    parent's peak over fork and exec (a subprocess of a 1.2 GB process reported 1.2 GB)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """This process's resident memory now, in MB (Linux's VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise OSError("/proc/self/status has no VmRSS line: resident memory is measured on Linux only")
