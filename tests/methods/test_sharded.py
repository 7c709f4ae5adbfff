"""Sharded lifecycle: only touched shards retrain, per-shard info, streams, request splits."""

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import make_method
from cure4rec.methods.retrain import retrain_references
from cure4rec.methods.sharded import slice_epochs
from cure4rec.methods.stream import split_request
from cure4rec.models.base import ModelSpec
from cure4rec.testing import TOY_MODEL, toy_interactions

TRAIN = toy_interactions()
CTX = RunContext(seed=3)


def users_request(users: np.ndarray) -> ForgetRequest:
    return ForgetRequest("users", TRAIN.subset(TRAIN.users_mask(users)), users)


def test_sisa_retrains_only_touched_shards() -> None:
    m = make_method("sisa", TOY_MODEL, {"shards": 4, "slices": 2})
    state = m.learn(TRAIN, CTX)
    rec = state.model
    user = 5
    res = m.unlearn(state, users_request(np.array([user])), CTX)
    assert res.info["touched_shards"] == [int(rec.user_shard[user])]
    kept = [j for j in range(4) if j != rec.user_shard[user]]
    for j in kept:
        assert res.model.models[j] is rec.models[j]
    assert np.array_equal(res.model.shard_users(int(rec.user_shard[user])),
                          rec.shard_users(int(rec.user_shard[user])))
    others = rec.shard_users(kept[0])
    assert torch.equal(res.model.score(others), rec.score(others))


def test_split_request_and_stream_shrink() -> None:
    req = users_request(np.arange(10))
    parts = split_request(req, 5, CTX)
    assert sum(len(p.forget) for p in parts) == len(req.forget)
    assert np.array_equal(np.sort(np.concatenate([p.users for p in parts])), req.users)
    m = make_method("sisa", TOY_MODEL, {"shards": 3})
    out = m.unlearn_stream(m.learn(TRAIN, CTX), parts, CTX)
    assert len(out.state.train) == len(TRAIN) - len(req.forget)
    assert out.summary()["n"] == 5
    with pytest.raises(ConfigError):
        split_request(req, 11, CTX)


def test_interactions_request_split() -> None:
    rows = np.arange(0, len(TRAIN), 7)
    req = ForgetRequest("interactions", TRAIN.subset(rows), np.unique(TRAIN.user[rows]))
    parts = split_request(req, 4, CTX)
    assert sum(len(p.forget) for p in parts) == len(rows)


def test_retrain_references_differ_by_seed() -> None:
    refs = retrain_references(ModelSpec(TOY_MODEL), TRAIN, None, CTX, seeds=(0, 1))
    assert not torch.equal(refs[0].score(np.arange(5)), refs[1].score(np.arange(5)))


def test_slice_epochs_budget() -> None:
    assert slice_epochs(20, 1) == [20]
    assert sum(slice_epochs(20, 4)) == int(4 * 2 * 4 / 5 * 20 / 4)


def test_bad_config_is_config_error() -> None:
    with pytest.raises(ConfigError, match="shards"):
        make_method("sisa", TOY_MODEL, {"shard": 3})


def test_retrain_and_sisa_run_on_the_recbole_adapter() -> None:
    """Methods train any Recommender: the RecBole adapter has no regularizer hook."""
    pytest.importorskip("recbole")
    from cure4rec.context import RunContext
    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.forget.select import make_forget_split
    from cure4rec.methods.base import make_method
    from cure4rec.models.base import ModelSpec

    ds = load_dataset("synthetic", n_users=120, n_items=80, n_interactions=2400)
    fs = make_forget_split(split_dataset(ds, seed=0), "random", 0.1, seed=0)
    spec = ModelSpec("recbole", {"model": "BPR", "epochs": 1})
    ctx = RunContext(seed=0)
    for name, cfg in (("retrain", {}), ("sisa", {"shards": 2})):
        method = make_method(name, spec, cfg)
        out = method.unlearn(method.learn(fs.train, ctx, valid=fs.valid), fs.request, ctx)
        assert out.model.score([0, 1]).shape == (2, fs.train.n_items)


def test_a_shard_emptied_by_deletion_serves_an_untrained_sub_model() -> None:
    """Deleting every user of a shard leaves it no data: its sub-model is the initialisation
    (learning on nothing; the torch trainer refuses an empty train set), and unlearning still
    equals learning on the retained data."""
    spec = ModelSpec("bpr", {"dim": 4, "epochs": 2, "batch_size": 256})
    m = make_method("sisa", spec, {"shards": 4})
    state = m.learn(TRAIN, CTX)
    shard = int(state.model.user_shard[5])
    request = users_request(state.model.shard_users(shard))
    res = m.unlearn(state, request, CTX)
    assert res.info["touched_shards"] == [shard]
    fresh = spec.build()
    fresh.setup(TRAIN.subset(np.zeros(len(TRAIN), bool)),
                CTX.child("sisa-learn").child(f"shard{shard}"))
    assert torch.equal(res.model.models[shard].score(np.arange(3)), fresh.score(np.arange(3)))
    users = np.setdiff1d(np.arange(TRAIN.n_users), state.model.shard_users(shard))[:5]
    ref = m.exact_reference(state, request, CTX)
    assert torch.allclose(res.model.score(users), ref.score(users), atol=1e-6)
