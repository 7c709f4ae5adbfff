"""Executors: run cell functions in-process, in a local process pool, or on Ray.

A cell function is pure (cell spec in, record dict out) and importable by reference, so
each executor yields the same records; they differ only in where the work happens.
Results are yielded as cells finish; the runner writes each record at once.

Workers die with their parent: pool workers and Ray tasks run a watchdog thread that exits
the process once the parent that started it is gone (a SIGKILLed `cure4rec run` leaves no
worker computing). A local Ray instance binds every listener and registers its node on
127.0.0.1 (Ray 2.6 otherwise swaps 127.0.0.1 for the machine's outward address and its
gRPC servers listen on all interfaces); `--address` of an existing cluster is left alone.
A user error raised in a worker reaches the CLI as the same one-line error.

A worker that dies (SIGKILL, the out-of-memory killer, a crash in native code) costs only
its cell: the pool keeps at most `workers` cells in flight, so the cells running when the
pool broke are known; each is re-run alone in a fresh worker, and the one that kills its
worker again gets an error record (`WorkerDied`) while the others complete. On Ray the
crashed task is known directly. The run then goes on like after any failed cell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from cure4rec.errors import ConfigError, CureError
from cure4rec.runner.cells import CellSpec

log = logging.getLogger(__name__)
CellFn = Callable[[dict[str, Any]], dict[str, Any]]


class Executor(Protocol):
    """Maps a cell function over cell specs, yielding `(spec, record)` as cells finish."""

    def map(self, fn: CellFn, cells: Sequence[CellSpec]) -> Iterator[tuple[CellSpec, dict]]: ...


def _payload(cell: CellSpec) -> dict[str, Any]:
    return dataclasses.asdict(cell)


class WorkerDied(RuntimeError):
    """The process running a cell ended abruptly (a signal such as SIGKILL, e.g. from the
    out-of-memory killer, or a crash in native code)."""


def _died_record(cell: CellSpec, how: str) -> dict[str, Any]:
    from cure4rec.runner.failures import error_record

    return error_record(_payload(cell), WorkerDied(
        f"the worker running cell {cell.config_hash} died ({how}); killed by a signal such "
        "as SIGKILL (often the out-of-memory killer: check `dmesg`) or crashed in native "
        "code. Give it more memory or fewer --workers, and re-run to retry it"))


class InProcessExecutor:
    """Run cells one after another in this process."""

    def map(self, fn: CellFn, cells: Sequence[CellSpec]) -> Iterator[tuple[CellSpec, dict]]:
        for cell in cells:
            yield cell, fn(_payload(cell))


def watch_parent(parent: int, interval: float = 0.5) -> None:
    """Exit this process (status 1) as soon as `parent` is no longer its parent."""
    if parent <= 1:
        return

    def _watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(interval)

    threading.Thread(target=_watch, name="cure4rec-parent-watch", daemon=True).start()


def _init_worker(parent: int = 0) -> None:
    """One torch thread per worker (N workers share the machine without oversubscription);
    the worker exits when `parent` dies."""
    import torch

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    watch_parent(parent)


class ProcessExecutor:
    """A local pool of `workers` spawned processes (spawn: no forked torch/thread state)."""

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {workers}")
        self.workers = workers

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(os.getpid(),))

    def map(self, fn: CellFn, cells: Sequence[CellSpec]) -> Iterator[tuple[CellSpec, dict]]:
        todo = deque(cells)
        while todo:
            suspects: list[CellSpec] = []
            with self._pool(self.workers) as pool:
                running: dict[Future, CellSpec] = {}
                broken = False  # a worker died between `wait` and `submit`
                try:
                    while todo or running:
                        while not broken and todo and len(running) < self.workers:
                            cell = todo.popleft()
                            try:
                                running[pool.submit(fn, _payload(cell))] = cell
                            except BrokenProcessPool:  # `cell` never ran: it waits its turn
                                todo.appendleft(cell)
                                broken = True
                        if not running:  # broken before anything ran here: no culprit known
                            suspects.append(todo.popleft())  # run it alone, so the run moves
                            break
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                        for fut in sorted(done, key=lambda f: running[f].config_hash):
                            cell = running.pop(fut)
                            try:
                                record = fut.result()
                            except BrokenProcessPool:
                                suspects.append(cell)
                                continue
                            yield cell, record
                        if suspects or broken:  # every cell still in flight is suspect
                            suspects.extend(running.values())
                            running.clear()
                            break
                finally:
                    for fut in running:
                        fut.cancel()
            for cell in sorted(suspects, key=lambda c: c.config_hash):
                log.warning("a worker died; re-running cell %s alone", cell.config_hash)
                yield cell, self._alone(fn, cell)

    def _alone(self, fn: CellFn, cell: CellSpec) -> dict[str, Any]:
        """`cell` in a fresh one-worker pool; its error record if it kills that worker too."""
        with self._pool(1) as pool:
            try:
                return pool.submit(fn, _payload(cell)).result()
            except BrokenProcessPool:
                return _died_record(cell, "again when run alone")


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
                with _loopback_ray():
                    ray.init(include_dashboard=False, num_cpus=self.workers or 1,
                             _node_ip_address="127.0.0.1", log_to_driver=False)
                start_reaper()
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
                    yield cell, _ray_get(ray, ref, cell)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


@contextlib.contextmanager
def _loopback_ray() -> Iterator[None]:
    """Ray 2.6 maps 127.0.0.1 to the outward address (`get_node_ip_address`); with that
    lookup answering 127.0.0.1 the node registers on loopback and Ray's gRPC servers
    (GCS, raylet, workers, agent) listen on 127.0.0.1 only."""
    import ray._private.services as services

    old = services.get_node_ip_address
    services.get_node_ip_address = lambda address="8.8.8.8:53": "127.0.0.1"
    try:
        yield
    finally:
        services.get_node_ip_address = old


def _ray_get(ray: Any, ref: Any, cell: CellSpec) -> dict[str, Any]:
    """`ray.get`, with a user error of the task re-raised as itself (one line, no colours)
    and a crashed worker turned into the cell's error record."""
    crashed = tuple(getattr(ray.exceptions, name) for name in
                    ("WorkerCrashedError", "OutOfMemoryError", "NodeDiedError")
                    if hasattr(ray.exceptions, name))
    try:
        return ray.get(ref)
    except crashed as exc:
        return _died_record(cell, f"Ray: {type(exc).__name__}")
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, CureError):
            raise type(cause)(str(cause)) from None
        raise


_REAPER = r"""
import os, sys, time, psutil
driver = psutil.Process(int(sys.argv[1]))
known = {}
while True:
    try:
        if not driver.is_running() or driver.status() == psutil.STATUS_ZOMBIE:
            break
        for p in driver.children(recursive=True):
            if p.pid != os.getpid():
                known[p.pid] = p
    except psutil.Error:
        break
    time.sleep(0.5)
for p in known.values():
    try:
        if p.is_running():
            p.kill()
    except psutil.Error:
        pass
"""


def start_reaper() -> Any:
    """A small watcher process that kills the local Ray instance's processes (GCS, raylet,
    agents, workers) once this driver is gone, however it died (Ray's dashboard agent
    otherwise lingers for a minute or more after a SIGKILL)."""
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", _REAPER, str(os.getpid())],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


_WATCHED: list[int] = []


def _ray_task(fn: CellFn, payload: dict[str, Any]) -> dict[str, Any]:
    if not _WATCHED:  # once per worker process: exit when its raylet is gone
        _WATCHED.append(os.getppid())
        _init_worker(os.getppid())
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
