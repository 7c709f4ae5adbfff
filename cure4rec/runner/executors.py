"""Executors: run cell functions in-process, in a local process pool, or on Ray.

A cell function is pure (cell spec in, record dict out) and importable by reference, so
each executor yields the same records; they differ only in where the work happens.
Results are yielded as cells finish; the runner writes each record at once.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from cure4rec.errors import ConfigError
from cure4rec.runner.cells import CellSpec

log = logging.getLogger(__name__)
CellFn = Callable[[dict[str, Any]], dict[str, Any]]


class Executor(Protocol):
    """Maps a cell function over cell specs, yielding `(spec, record)` as cells finish."""

    def map(self, fn: CellFn, cells: Sequence[CellSpec]) -> Iterator[tuple[CellSpec, dict]]: ...


def _payload(cell: CellSpec) -> dict[str, Any]:
    return dataclasses.asdict(cell)


class InProcessExecutor:
    """Run cells one after another in this process."""

    def map(self, fn: CellFn, cells: Sequence[CellSpec]) -> Iterator[tuple[CellSpec, dict]]:
        for cell in cells:
            yield cell, fn(_payload(cell))


def _init_worker() -> None:
    """One torch thread per worker: N workers share the machine without oversubscription."""
    import torch

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


class ProcessExecutor:
    """A local pool of `workers` spawned processes (spawn: no forked torch/thread state)."""

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {workers}")
        self.workers = workers

    def map(self, fn: CellFn, cells: Sequence[CellSpec]) -> Iterator[tuple[CellSpec, dict]]:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker) as pool:
            pending: dict[Future, CellSpec] = {pool.submit(fn, _payload(c)): c for c in cells}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in sorted(done, key=lambda f: pending[f].config_hash):
                        cell = pending.pop(fut)
                        yield cell, fut.result()
            finally:
                for fut in pending:
                    fut.cancel()


class RayExecutor:
    """Ray tasks, one CPU each: a local instance on 127.0.0.1, or `address` of a cluster."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = address
        self.workers = workers

    def _init(self) -> Any:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError("--executor ray needs Ray: pip install 'cure4rec[ray]'") from exc
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            if self.address:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, num_cpus=self.workers or 1,
                         _node_ip_address="127.0.0.1", log_to_driver=False)
        return ray

    def map(self, fn: CellFn, cells: Sequence[CellSpec]) -> Iterator[tuple[CellSpec, dict]]:
        ray = self._init()
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        pending = {remote.remote(fn, _payload(c)): c for c in cells}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    cell = pending.pop(ref)
                    yield cell, ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


def _ray_task(fn: CellFn, payload: dict[str, Any]) -> dict[str, Any]:
    _init_worker()
    return fn(payload)


def make_executor(name: str, workers: int = 1, address: str | None = None) -> Executor:
    """An executor by CLI name: `inprocess`, `process` or `ray`."""
    if name == "inprocess":
        return InProcessExecutor()
    if name == "process":
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(address, workers)
    raise ConfigError(f"unknown executor {name!r}; known: inprocess, process, ray")
