"""Efficiency: timings, their sum, latency summaries and the evaluator's derived keys."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cure4rec.metrics.efficiency import Timing, latency_summary, measure


def test_timing_sum_and_dict() -> None:
    t = Timing(1.5, 1.0, 300.0) + Timing(0.5, 2.0, 200.0)
    # times add, peak memory is the larger peak; one-job phases: parallel cost = CPU cost
    assert t == Timing(2.0, 3.0, 300.0, 3.0)
    assert (Timing(0, 0, 10.0) + Timing(0, 0, 20.0)).peak_rss_mib == 20.0
    assert t.as_dict() == {"wall_s": 2.0, "cpu_s": 3.0, "peak_rss_mib": 300.0,
                           "cpu_parallel_s": 3.0}
    assert Timing().as_dict() == {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mib": 0.0,
                                  "cpu_parallel_s": 0.0}
    # a sharded phase: parallel cost as given, shares touched -> the larger share
    s = Timing(1.0, 4.0, 10.0, 1.5, 0.3) + Timing(1.0, 1.0, 10.0, None, 0.1)
    assert (s.cpu_s, s.cpu_parallel_s, s.share_touched) == (5.0, 2.5, 0.3)
    assert s.as_dict()["share_touched"] == 0.3


def test_measure_wall_cpu_and_peak_memory() -> None:
    with measure() as t:
        time.sleep(0.15)  # wall time, no CPU
        block = np.ones(40 * 2**20 // 8)  # 40 MiB resident while measured
        block[::512] += 1.0
        time.sleep(0.05)
    assert 0.15 <= t.wall_s < 2.0
    assert t.cpu_s < t.wall_s
    assert t.peak_rss_mib > 40
    with measure() as busy:
        end = time.process_time() + 0.1
        while time.process_time() < end:
            pass
    # process CPU time counts every thread (the RSS sampler too), so it can exceed the
    # wall time by a little: the busy loop's 0.1 CPU-s take at least ~0.09 s of wall
    assert busy.cpu_s >= 0.1 and busy.wall_s >= 0.09
    del block


def test_latency_summary_known_values() -> None:
    out = latency_summary([0.1, 0.2, 0.3, 0.4, 1.0])
    assert out["mean_s"] == pytest.approx(0.4)
    assert out["p95_s"] == pytest.approx(0.4 + 0.8 * 0.6)  # linear interpolation at 95%
    assert out["max_s"] == 1.0 and out["total_s"] == pytest.approx(2.0) and out["n"] == 5
    assert latency_summary([]) == {"mean_s": 0.0, "p95_s": 0.0, "max_s": 0.0, "total_s": 0.0,
                                   "n": 0}


def test_evaluator_efficiency_keys() -> None:
    from cure4rec.metrics.evaluator import _efficiency

    out = _efficiency(Timing(2.0, 1.5, 100.0), Timing(0.5, 0.25, 90.0),
                      Timing(4.0, 3.0, 80.0), [Timing(0.1), Timing(0.3)])
    assert out["efficiency.speedup_vs_retrain"] == 8.0
    assert out["efficiency.unlearn_wall_s"] == 0.5 and out["efficiency.learn_cpu_s"] == 1.5
    assert out["efficiency.retrain_peak_rss_mib"] == 80.0
    assert out["efficiency.stream_mean_s"] == pytest.approx(0.2)
    assert out["efficiency.stream_p95_s"] == pytest.approx(0.1 + 0.95 * 0.2)
    assert "efficiency.speedup_vs_retrain" not in _efficiency(None, Timing(0.0), Timing(1.0), None)


def _status_mib(field: str) -> float:
    """A field of /proc/self/status (kB) in MiB: an independent reading of the same memory."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def test_rss_reading_in_mib(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import builtins

    from cure4rec.metrics import efficiency

    assert efficiency._rss_mib() == pytest.approx(_status_mib("VmRSS"), rel=0.05)
    # without /proc/self/statm: the peak RSS from getrusage (KiB on Linux) in MiB
    real_open = builtins.open

    def no_statm(path, *a, **k):  # type: ignore[no-untyped-def]
        if str(path) == "/proc/self/statm":
            raise OSError("no procfs")
        return real_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", no_statm)
    peak = efficiency._rss_mib()
    monkeypatch.setattr(builtins, "open", real_open)
    assert peak == pytest.approx(_status_mib("VmHWM"), rel=0.05)
    assert latency_summary([1, 2])["mean_s"] == 1.5 and isinstance(
        latency_summary([1, 2])["mean_s"], float)
