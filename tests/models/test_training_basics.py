"""Known answers: sampler exclusions, LightGCN normalisation, a 4x3 toy preference."""

from __future__ import annotations

import numpy as np
import torch
from _toy import random_split

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.models.bpr import BPR
from cure4rec.models.lightgcn import normalized_adjacency
from cure4rec.models.sampling import NegativeSampler


def test_sampler_never_returns_train_items() -> None:
    train, _ = random_split(n_users=50, n_items=12, n=400)
    sampler = NegativeSampler(train)
    users = np.repeat(np.arange(50), 40)
    neg = sampler.sample(users, 3, np.random.default_rng(0))
    assert neg.shape == (len(users), 3)
    dense = train.csr().toarray() > 0
    assert not dense[users[:, None], neg].any()
    assert neg.min() >= 0 and neg.max() < train.n_items


def test_sampler_is_deterministic() -> None:
    train, _ = random_split()
    s = NegativeSampler(train)
    a = s.sample(train.user, 2, np.random.default_rng(3))
    assert np.array_equal(a, s.sample(train.user, 2, np.random.default_rng(3)))


def test_lightgcn_normalisation_by_hand() -> None:
    # users 0,1; items 0,1; edges u0-i0, u0-i1, u1-i0 (+ a duplicate, ignored)
    adj = normalized_adjacency(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 0]), 2, 2)
    dense = adj.toarray()
    d = np.array([2, 1, 2, 1], dtype=float)  # degrees of u0, u1, i0, i1
    a = np.zeros((4, 4))
    for u, i in [(0, 2), (0, 3), (1, 2)]:
        a[u, i] = a[i, u] = 1.0
    expected = a / np.sqrt(np.outer(d, d))
    np.testing.assert_allclose(dense, expected, rtol=1e-6)
    assert dense[0, 2] == np.float32(0.5) and abs(dense[1, 2] - 1 / np.sqrt(2)) < 1e-6


def test_bpr_learns_toy_preference() -> None:
    # 4 users x 3 items: users 0,1 like items 0,1; users 2,3 like items 1,2.
    # Held out: user 0's item 1 -> must outrank item 2 for user 0; symmetric for user 3.
    train = Interactions.from_pairs([0, 1, 1, 2, 2, 3], [0, 0, 1, 1, 2, 2], 4, 3)
    model = BPR({"dim": 4, "epochs": 300, "lr": 0.05, "reg": 1e-4, "batch_size": 8})
    model.fit(train, None, RunContext(seed=0))
    s = model.score(np.arange(4))
    assert s[0, 1] > s[0, 2]
    assert s[3, 1] > s[3, 0]
    assert torch.isfinite(s).all()
