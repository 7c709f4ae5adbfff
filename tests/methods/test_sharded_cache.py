"""A sharded method's learned state survives the runner's cache unchanged: stored as plain
tensors (`torch.load(weights_only=True)`), loaded back, it serves the same scores and
unlearns to the same model as the state it was stored from."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import make_method
from cure4rec.models.base import ModelSpec
from cure4rec.runner.cache import cached_state
from cure4rec.testing import toy_interactions

TRAIN = toy_interactions(n_users=48, n_items=30, seed=1)
SPEC = ModelSpec("bpr", {"dim": 8, "epochs": 4, "batch_size": 128})
USERS = np.arange(48)


def _request(users: np.ndarray) -> ForgetRequest:
    return ForgetRequest("users", TRAIN.subset(TRAIN.users_mask(users)), users)


@pytest.mark.parametrize("name, config", [
    ("sisa", {"shards": 3, "slices": 2}),
    ("sisa", {"shards": 3, "aggregation": "mean"}),
    ("receraser", {"shards": 3, "agg_epochs": 3}),
    ("ultrare", {"shards": 3}),
])
def test_round_trip_serves_and_unlearns_identically(name: str, config: dict) -> None:  # type: ignore[type-arg]
    ctx = RunContext(seed=4)
    method = make_method(name, SPEC, config)
    state = method.learn(TRAIN, ctx)
    blob = method.learned_blob(state)  # type: ignore[attr-defined]
    assert blob is not None
    buf = io.BytesIO()
    torch.save(blob, buf)
    buf.seek(0)
    loaded = method.state_from_blob(  # type: ignore[attr-defined]
        torch.load(buf, weights_only=True), TRAIN, ctx)
    assert torch.equal(loaded.model.score(USERS), state.model.score(USERS))
    assert np.array_equal(loaded.model.user_shard, state.model.user_shard)
    assert loaded.extra["ctx"].path == state.extra["ctx"].path
    req = _request(np.array([2, 7, 30]))
    a = method.unlearn(state, req, RunContext(seed=4))
    b = method.unlearn(loaded, req, RunContext(seed=4))
    assert a.info["touched_shards"] == b.info["touched_shards"]
    assert torch.equal(a.model.score(USERS), b.model.score(USERS))


def test_cached_state_learns_once_and_keeps_the_learn_cost(tmp_path: Path) -> None:
    method = make_method("sisa", SPEC, {"shards": 2})
    calls = []

    def learn():  # type: ignore[no-untyped-def]
        calls.append(1)
        return method.learn(TRAIN, RunContext(seed=4))

    first = cached_state(tmp_path, "k", method, TRAIN, RunContext(seed=4), learn)
    again = cached_state(tmp_path, "k", method, TRAIN, RunContext(seed=4), learn)
    assert len(calls) == 1 and (tmp_path / "k.learn.pt").is_file()
    assert again.timing.cpu_s == first.timing.cpu_s > 0  # the stored cost, not the load's
    assert torch.equal(again.model.score(USERS), first.model.score(USERS))
    (tmp_path / "k.learn.pt").write_bytes(b"torn")  # a damaged entry is learned again
    cached_state(tmp_path, "k", method, TRAIN, RunContext(seed=4), learn)
    assert len(calls) == 2
    # no cache folder: learned every time
    cached_state(None, "k", method, TRAIN, RunContext(seed=4), learn)
    assert len(calls) == 3
