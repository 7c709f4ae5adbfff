"""Efficiency: wall-clock, CPU time and peak memory of a phase."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Timing:
    """Wall and CPU seconds of one phase, and its peak resident memory in MiB.

    Peak memory is the largest resident set size sampled (every 20 ms) while the phase ran:
    it includes memory the process already held, so compare phases of the same run.

    `cpu_s` is the process CPU time (`time.process_time`: every thread, not wall), i.e. the
    sequential cost. `cpu_parallel_s` is what K workers would wait for: for a sharded method
    everything outside shard training (re-partitioning, aggregator) plus the slowest retrained
    shard; `None` means one job (= `cpu_s`). `share_touched` is the share of sub-models a
    sharded method retrained (`None` for single-model methods).
    """

    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    cpu_parallel_s: float | None = None
    share_touched: float | None = None

    @property
    def parallel_cpu_s(self) -> float:
        return self.cpu_s if self.cpu_parallel_s is None else self.cpu_parallel_s

    def as_dict(self) -> dict[str, float]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out["cpu_parallel_s"] = self.parallel_cpu_s
        return out

    def __add__(self, other: Timing) -> Timing:
        shares = [s for s in (self.share_touched, other.share_touched) if s is not None]
        return Timing(self.wall_s + other.wall_s, self.cpu_s + other.cpu_s,
                      max(self.peak_rss_mib, other.peak_rss_mib),
                      self.parallel_cpu_s + other.parallel_cpu_s,
                      max(shares) if shares else None)


def _rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):  # pragma: no cover - non-Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def measure() -> Iterator[Timing]:
    """Measure the enclosed block; the yielded Timing is filled in when the block ends."""
    t = Timing()
    peak = [_rss_mib()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], _rss_mib())

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        yield t
    finally:
        t.wall_s = time.perf_counter() - w0
        t.cpu_s = time.process_time() - c0
        stop.set()
        th.join()
        t.peak_rss_mib = max(peak[0], _rss_mib())


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """Mean, p95, max and total of per-request latencies."""
    if not seconds:
        return {"mean_s": 0.0, "p95_s": 0.0, "max_s": 0.0, "total_s": 0.0, "n": 0}
    a = np.asarray(seconds, dtype=float)
    return {"mean_s": float(a.mean()), "p95_s": float(np.quantile(a, 0.95)),
            "max_s": float(a.max()), "total_s": float(a.sum()), "n": len(a)}
