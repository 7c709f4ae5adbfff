"""Peak resident memory of a phase: a sampling thread reading /proc/self/status (VmRSS).

`ru_maxrss` is the peak of the whole process so far; `PhaseMemory` gives the peak *within*
one phase too (sampled every `interval` seconds, so spikes shorter than that can be missed:
the process-wide `ru_maxrss` is printed beside it).
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

GIB = 1024.0 ** 3


def rss_bytes() -> int:
    """Current resident set size of this process (bytes)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def max_rss_bytes() -> int:
    """Peak resident set size of this process since it started (getrusage, bytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PhaseMemory:
    """Wall time and sampled peak RSS of named phases, printed as they end."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.rows: list[tuple[str, float, int, int]] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        peak = [rss_bytes()]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval):
                peak[0] = max(peak[0], rss_bytes())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            wall = time.perf_counter() - t0
            stop.set()
            thread.join()
            peak[0] = max(peak[0], rss_bytes())
            self.rows.append((name, wall, peak[0], max_rss_bytes()))
            print(f"{name:<28} {wall:9.1f} s   peak RSS in phase {peak[0] / GIB:6.2f} GiB   "
                  f"ru_maxrss so far {max_rss_bytes() / GIB:6.2f} GiB", flush=True)
