"""The process pool breaking between `wait` and the next `submit` (a worker dies just after
another cell finished): the cell not yet submitted waits its turn, the dead worker's cell is
re-run alone, and no BrokenProcessPool reaches the runner. Deterministic: a scripted pool."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from cure4rec.runner import expand_cells, load_recipe
from cure4rec.runner.executors import ProcessExecutor


class ScriptedPool:
    """A pool whose worker running `bad` dies only once the next cell is submitted."""

    def __init__(self, bad: dict) -> None:
        self.bad, self.broken = bad, False
        self.dying: Future | None = None

    def __enter__(self) -> ScriptedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn, payload: dict) -> Future:
        if self.dying is not None:  # the worker dies now, before this submit
            self.dying.set_exception(BrokenProcessPool("a child process terminated"))
            self.dying, self.broken = None, True
        if self.broken:
            raise BrokenProcessPool("a child process terminated abruptly")
        fut: Future = Future()
        if payload == self.bad:
            self.dying = fut
        else:
            fut.set_result({"metrics": {"ok": 1.0}})
        return fut


class AlonePool(ScriptedPool):
    """The one-worker pool of a re-run alone: `bad` kills its worker at once."""

    def submit(self, fn, payload: dict) -> Future:
        fut: Future = Future()
        if payload == self.bad:
            fut.set_exception(BrokenProcessPool("a child process terminated"))
        else:
            fut.set_result({"metrics": {"ok": 1.0}})
        return fut


def test_pool_broken_at_submit_costs_only_the_dead_cell(recipe_dir: Path, monkeypatch) -> None:
    cells = expand_cells(load_recipe(recipe_dir / "child.yaml"))[:5]
    bad = cells[1].config_hash
    dying = dataclasses.asdict(cells[1])
    pools = {2: lambda: ScriptedPool(dying), 1: lambda: AlonePool(dying)}
    monkeypatch.setattr(ProcessExecutor, "_pool", lambda self, workers: pools[workers]())
    out = list(ProcessExecutor(2).map(lambda payload: {}, cells))
    assert sorted(c.config_hash for c, _ in out) == sorted(c.config_hash for c in cells)
    by = {c.config_hash: rec for c, rec in out}
    assert by[bad]["status"] == "error" and by[bad]["error"]["type"] == "WorkerDied"
    assert all(rec["metrics"] == {"ok": 1.0} for h, rec in by.items() if h != bad)
