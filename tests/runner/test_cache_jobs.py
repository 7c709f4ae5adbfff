"""`cached_models`: entries another worker is training are passed over and collected last,
so two workers starting the same group train different references side by side; results
come back in the jobs' order whoever trained them, and every model is trained once."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from cure4rec.data.load import load_dataset
from cure4rec.models.base import ModelSpec
from cure4rec.runner.cache import cached_models

SPEC = ModelSpec("bpr", {"dim": 4, "epochs": 1})


@pytest.fixture(scope="module")
def tiny():
    return load_dataset("synthetic", n_users=20, n_items=15, n_interactions=120, seed=0)


def _job(key: str, order: list[str], tiny, gate: threading.Event | None = None):
    def train():
        order.append(key)
        if gate is not None:
            gate.set()
        model = SPEC.build()
        from cure4rec.context import RunContext

        model.fit(tiny.interactions, None, RunContext(seed=len(key)))
        return model
    return key, SPEC, train


def test_held_entry_is_passed_over_and_collected_last(tmp_path: Path, tiny) -> None:
    order: list[str] = []
    last_trained = threading.Event()
    jobs = [_job("ref0", order, tiny), _job("ref1", order, tiny),
            _job("ref2", order, tiny, gate=last_trained)]
    # another "worker" holds ref0's lock (flock: a second open file conflicts even in-process)
    fh = open(tmp_path / "ref0.lock", "a+")
    fcntl.flock(fh, fcntl.LOCK_EX)
    out: list = []
    th = threading.Thread(target=lambda: out.extend(cached_models(tmp_path, jobs)))
    th.start()
    assert last_trained.wait(60)  # ref1 and ref2 were trained while ref0 was held
    assert order == ["ref1", "ref2"] and th.is_alive()  # ... and now it waits for ref0
    fcntl.flock(fh, fcntl.LOCK_UN)
    fh.close()
    th.join(60)
    assert order == ["ref1", "ref2", "ref0"]  # nobody stored ref0: trained once, last
    assert len(out) == 3 and all(m.n_users == tiny.interactions.n_users for m, _ in out)
    assert {p.name for p in tmp_path.glob("*.pt")} == {"ref0.pt", "ref1.pt", "ref2.pt"}
    # a second pass loads all three from the cache, in the jobs' order, training nothing
    again = cached_models(tmp_path, jobs)
    assert order == ["ref1", "ref2", "ref0"]
    for (m, t), (m2, t2) in zip(out, again):
        assert t2.as_dict() == t.as_dict()  # the stored training time
        users = np.arange(tiny.interactions.n_users)
        assert torch.equal(m.score(users), m2.score(users))


def test_no_cache_dir_trains_every_job_in_order(tiny) -> None:
    order: list[str] = []
    out = cached_models(None, [_job("a", order, tiny), _job("bb", order, tiny)])
    assert order == ["a", "bb"] and len(out) == 2
