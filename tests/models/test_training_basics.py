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


def test_fused_bpr_loss_matches_autograd() -> None:
    import torch.nn.functional as F

    from cure4rec.models.bpr import BPRRowsLoss
    from cure4rec.models.torch_base import l2

    g = torch.Generator().manual_seed(0)
    u, i, j = (torch.randn(9, 4, dtype=torch.double, generator=g, requires_grad=True)
               for _ in range(3))
    assert torch.autograd.gradcheck(lambda a, b, c: BPRRowsLoss.apply(a, b, c, 0.3), (u, i, j))
    fused = BPRRowsLoss.apply(u, i, j, 0.3)
    ref = F.softplus((u * (j - i)).sum(-1)).mean() + 0.3 * l2(u, i, j)
    want = torch.autograd.grad(ref, (u, i, j))
    got = torch.autograd.grad(fused, (u, i, j))
    assert torch.allclose(fused, ref)
    assert all(torch.allclose(a, b) for a, b in zip(got, want))


def test_sampler_dense_and_sorted_lookups_agree() -> None:
    train, _ = random_split(n_users=30, n_items=20, n=200)
    dense, keyed = NegativeSampler(train), NegativeSampler(train, dense_limit=0)
    assert dense.dense is not None and keyed.dense is None
    users = np.repeat(np.arange(30), 20)
    items = np.tile(np.arange(20), 30)
    assert np.array_equal(dense.is_train(users, items), keyed.is_train(users, items))
    assert dense.is_train(users, items).sum() == len(np.unique(train.keys))
    assert np.array_equal(dense.sample(train.user, 2, np.random.default_rng(1)),
                          keyed.sample(train.user, 2, np.random.default_rng(1)))


def test_training_threads_precedence() -> None:
    from cure4rec.context import default_threads
    from cure4rec.models.trainer import training_threads

    assert training_threads(RunContext(threads=3), 1) == 3  # a pool worker's share wins
    assert training_threads(RunContext(), 2) == 2
    assert training_threads(RunContext(), None) == default_threads()


def test_scoring_cache_sees_each_epoch() -> None:
    # fused Adam does not bump version counters: the trainer must drop the cache itself,
    # or validation would score stale LightGCN / GMF representations
    from cure4rec.models.lightgcn import LightGCN
    from cure4rec.models.trainer import _run_epoch, make_adam

    train, _ = random_split()
    model = LightGCN({"dim": 4, "epochs": 1, "batch_size": 64})
    model.setup(train, RunContext(seed=0))
    before = model.user_embeddings().clone()
    opt = make_adam(model.parameters(), 0.05)
    _run_epoch(model, opt, train, NegativeSampler(train), np.random.default_rng(0), ())
    fresh = model.propagate()[0].detach()
    assert not torch.equal(before, fresh)
    assert torch.equal(model.user_embeddings(), fresh)


def test_lightgcn_deepcopies_and_pickles() -> None:
    import copy
    import pickle

    from cure4rec.models.lightgcn import LightGCN

    train, _ = random_split()
    model = LightGCN({"dim": 4, "epochs": 1})
    model.setup(train, RunContext(seed=0))
    users = np.arange(5)
    s = model.score(users)  # builds the torch CSR graph
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert torch.equal(twin.score(users), s)


def test_hand_written_steps_match_autograd() -> None:
    # the trainer's fast path (no autograd graph) must give batch_loss's value and gradient,
    # also for a smaller batch after a larger one (reused scratch buffers are sliced)
    from cure4rec.models.lightgcn import LightGCN
    from cure4rec.models.torch_base import Batch

    train, _ = random_split()
    g = torch.Generator().manual_seed(0)
    for model in (BPR({"dim": 8, "reg": 0.05}), LightGCN({"dim": 8, "layers": 2, "reg": 0.05})):
        model.setup(train, RunContext(seed=0))
        for b in (64, 17):
            batch = Batch(torch.randint(0, train.n_users, (b,), generator=g),
                          torch.randint(0, train.n_items, (b,), generator=g),
                          torch.randint(0, train.n_items, (b,), generator=g))
            params = model.parameters()
            want_loss = model.batch_loss(batch)
            want = torch.autograd.grad(want_loss, params)
            for p in params:  # stale gradients must be overwritten, not added to
                p.grad = torch.full_like(p, 7.0)
            loss = model.manual_step_grads(batch)
            assert loss is not None and torch.allclose(loss, want_loss, rtol=1e-5)
            for p, w in zip(params, want):
                torch.testing.assert_close(p.grad, w, rtol=1e-4, atol=1e-7)
        two_neg = Batch(batch.users, batch.pos_items, batch.neg_items[:, None].repeat(1, 2))
        assert model.manual_step_grads(two_neg) is None  # several negatives: autograd path
