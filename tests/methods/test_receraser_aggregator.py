"""RecEraser's attention aggregator: the mini-batch training of its public code (`agg_batch`).

The sub-models are planted: two shards, each user trained (nonzero embedding) in one of them,
each shard's factors a different rotation of one true factorisation. The aggregator has to
learn per-shard transforms that put the shards' spaces together; with the same number of
epochs, passes in mini-batches take far more optimisation steps than full-batch epochs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.methods.base import make_method
from cure4rec.methods.receraser import AttentionAggregator


class _Frozen:
    def __init__(self, users: torch.Tensor, items: torch.Tensor) -> None:
        self.users, self.items = users, items

    def user_embeddings(self) -> torch.Tensor:
        return self.users

    def item_embeddings(self) -> torch.Tensor:
        return self.items


def _planted(seed: int = 0) -> tuple[list[_Frozen], Interactions, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_users, n_items, d = 120, 80, 8
    p, q = rng.normal(size=(n_users, d)), rng.normal(size=(n_items, d))
    top = np.argsort(-(p @ q.T), axis=1)[:, :8]
    train = Interactions.from_pairs(np.repeat(np.arange(n_users), 8), top.ravel(),
                                    n_users=n_users, n_items=n_items)
    shard = rng.integers(0, 2, n_users)
    models = []
    for j in range(2):
        rot, _ = np.linalg.qr(rng.normal(size=(d, d)))
        users = np.where((shard == j)[:, None], p @ rot, 0.0)
        models.append(_Frozen(torch.tensor(users, dtype=torch.float32),
                              torch.tensor(q @ rot, dtype=torch.float32)))
    return models, train, top


def _train_auc(agg: AttentionAggregator, train: Interactions) -> float:
    """P(score of a train pair > score of a random item of the same user)."""
    s = (agg.users @ agg.items.T).numpy()
    g = np.random.default_rng(1)
    neg = g.integers(0, s.shape[1], len(train))
    return float(np.mean(s[train.user, train.item] > s[train.user, neg]))


def test_mini_batch_passes_train_the_aggregator_further_than_full_batch_steps() -> None:
    models, train, _ = _planted()
    ctx = RunContext(seed=0, threads=1)
    full = AttentionAggregator.train(models, train, ctx, 5, 0.01, 1e-5)            # 5 steps
    mini = AttentionAggregator.train(models, train, ctx, 5, 0.01, 1e-5, batch=32)  # 150 steps
    full_auc, mini_auc = _train_auc(full, train), _train_auc(mini, train)
    assert mini_auc > full_auc + 0.05, (full_auc, mini_auc)


def test_mini_batch_training_is_deterministic_and_touches_only_batch_rows() -> None:
    models, train, _ = _planted()
    a = AttentionAggregator.train(models, train, RunContext(seed=3), 2, 0.01, 1e-5, batch=50)
    b = AttentionAggregator.train(models, train, RunContext(seed=3), 2, 0.01, 1e-5, batch=50)
    assert torch.equal(a.users, b.users) and torch.equal(a.items, b.items)
    c = AttentionAggregator.train(models, train, RunContext(seed=4), 2, 0.01, 1e-5, batch=50)
    assert not torch.equal(a.items, c.items)


@pytest.mark.parametrize("bad", [0, -5])
def test_agg_batch_must_be_positive(bad: int) -> None:
    with pytest.raises(ConfigError, match="agg_batch"):
        make_method("receraser", "toy-mf", {"shards": 3, "agg_batch": bad})


def test_own_shard_serving_is_each_users_shard_model_and_trains_no_aggregator() -> None:
    from cure4rec.methods.sharded import OwnShard
    from cure4rec.testing import TOY_MODEL
    from cure4rec.testing.toy import toy_interactions

    train = toy_interactions()
    method = make_method("receraser", TOY_MODEL, {"shards": 3, "serve": "own-shard"})
    rec = method.learn(train, RunContext(seed=0)).model
    assert isinstance(rec.aggregator, OwnShard)  # type: ignore[attr-defined]
    users = np.arange(train.n_users)
    got = rec.score(users)
    for u in users:
        own = rec.models[rec.user_shard[u]]  # type: ignore[attr-defined]
        torch.testing.assert_close(got[u], own.score(np.array([u]))[0].float())
