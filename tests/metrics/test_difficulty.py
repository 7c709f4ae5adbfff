"""Difficulty scores: closed form on a hand-made MF, seeded perturbations, hard/easy sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.difficulty import (
    by_quantile,
    difficulty,
    hessian_trace,
    perturbation_sensitivity,
)


class _MF:
    def __init__(self, u: torch.Tensor, v: torch.Tensor, reg: float = 0.0) -> None:
        self.u, self.v = u, v
        self.config = type("C", (), {"reg": reg})()

    def user_embeddings(self) -> torch.Tensor:
        return self.u

    def item_embeddings(self) -> torch.Tensor:
        return self.v


def test_hessian_trace_matches_hand_computation() -> None:
    u = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    v = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    train = Interactions.from_pairs([0, 0, 1], [0, 1, 2], 3, 3)
    tr = hessian_trace(_MF(u, v, reg=0.5), train)
    sp = lambda x: torch.sigmoid(torch.tensor(x)) * (1 - torch.sigmoid(torch.tensor(x)))  # noqa: E731
    assert tr[0] == pytest.approx(float(sp(2.0) * 4 + sp(0.0) * 1) + 0.5 * 2)
    assert tr[1] == pytest.approx(0.25 * 2 + 1.0)
    assert tr[2] == 0.0


def test_perturbation_is_seeded_and_difficulty_inverts_it() -> None:
    g = torch.Generator().manual_seed(0)
    m = _MF(torch.randn(5, 4, generator=g), torch.randn(6, 4, generator=g))
    train = Interactions.from_pairs([0, 0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5], 5, 6)
    ctx = RunContext(seed=3)
    a, b = perturbation_sensitivity(m, train, ctx), perturbation_sensitivity(m, train, ctx)
    assert np.array_equal(a, b) and (a > 0).all()
    d = difficulty(m, train, ctx, "perturbation")
    assert np.allclose(d * a, 1.0)


def test_by_quantile_bins_by_difficulty() -> None:
    diff = np.arange(8.0)
    assert by_quantile(np.arange(8.0), diff) == [0.5, 2.5, 4.5, 6.5]


@pytest.mark.slow
def test_hard_and_easy_strategies_select_disjoint_users() -> None:
    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.forget.select import make_forget_split

    split = split_dataset(load_dataset("synthetic", n_users=120, n_items=80,
                                       n_interactions=2500), seed=0)
    hard = make_forget_split(split, "hard", 0.1, seed=0)
    easy = make_forget_split(split, "easy", 0.1, seed=0)
    assert len(hard.request.users) == len(easy.request.users) == 12
    assert not np.intersect1d(hard.request.users, easy.request.users).size
    deg = split.train.user_degree()
    assert deg[hard.request.users].mean() > deg[easy.request.users].mean()


def test_perturbation_by_hand_from_the_documented_stream() -> None:
    """sens(u) = mean over K = 8 draws and u's items of |s'_ui − s_ui|, δ ~ N(0, (0.05·rms)²)."""
    g = torch.Generator().manual_seed(1)
    u, v = torch.randn(3, 2, generator=g), torch.randn(4, 2, generator=g)
    train = Interactions.from_pairs([0, 0, 1], [0, 3, 2], 3, 4)
    ctx = RunContext(seed=7)
    got = perturbation_sensitivity(_MF(u, v), train, ctx)
    u64, v64 = u.double(), v.double()
    gen = ctx.child("difficulty-perturb").torch_generator()
    su, sv = 0.05 * u64.pow(2).mean().sqrt(), 0.05 * v64.pow(2).mean().sqrt()
    pairs = [(0, 0), (0, 3), (1, 2)]
    acc = np.zeros(3)
    for _ in range(8):
        du = torch.randn(u64.shape, generator=gen, dtype=torch.float64) * su
        dv = torch.randn(v64.shape, generator=gen, dtype=torch.float64) * sv
        for j, (a, i) in enumerate(pairs):
            acc[j] += abs(float((u64[a] + du[a]) @ (v64[i] + dv[i]) - u64[a] @ v64[i]))
    acc /= 8
    # float64 throughout (the tables are cast): agreement to ~1e-15, not float32's 1e-7
    assert got == pytest.approx([(acc[0] + acc[1]) / 2, acc[2], 0.0], rel=1e-12, abs=1e-15)
    assert difficulty(_MF(u, v), train, ctx, "perturbation")[2] == 0.0  # no items: 0
    big = perturbation_sensitivity(_MF(u, v), train, ctx, n_draws=8, sigma=0.5)
    assert (big[:2] > got[:2]).all()


def test_difficulty_dispatch_and_errors() -> None:
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
    train = Interactions.from_pairs([0, 1], [1, 0], 2, 2)
    m = _MF(u, v, reg=0.1)
    ctx = RunContext(seed=0)
    assert np.array_equal(difficulty(m, train, ctx), hessian_trace(m, train))
    import math

    sp = lambda x: 1 / (1 + math.exp(-x)) * (1 - 1 / (1 + math.exp(-x)))  # noqa: E731
    tight = {"rel": 1e-12}  # float64 throughout: float32 would be off by ~1e-7
    assert hessian_trace(m, train) == pytest.approx([sp(2.0) * 4 + 0.2, sp(1.0) * 2 + 0.2],
                                                    **tight)
    assert hessian_trace(m, train, reg=0.0) == pytest.approx([sp(2.0) * 4, sp(1.0) * 2], **tight)
    plain = _MF(u, v)
    del plain.config  # no config at all: no L2 term
    assert hessian_trace(plain, train) == pytest.approx([sp(2.0) * 4, sp(1.0) * 2], **tight)
    plain.config = object()  # a config without `reg`: no L2 term either
    assert hessian_trace(plain, train) == pytest.approx([sp(2.0) * 4, sp(1.0) * 2], **tight)
    with pytest.raises(Exception, match="unknown difficulty score 'vibes'; use one of hessian, "
                                        "perturbation"):
        difficulty(m, train, ctx, "vibes")

    class _NoEmb(_MF):
        def item_embeddings(self) -> None:  # type: ignore[override]
            return None

    with pytest.raises(Exception, match="difficulty needs a model with embeddings; _NoEmb"):
        hessian_trace(_NoEmb(u, v), train)


def test_quantile_bins_uneven_empty_and_ratio() -> None:
    from cure4rec.metrics.difficulty import ratio_by_quantile

    vals, diff = np.array([4.0, 1.0, 3.0, 2.0, 5.0]), np.array([3.0, 0.0, 2.0, 1.0, 4.0])
    # ranks by difficulty 3,0,2,1,4 -> bins r*2//5: 1,0,0,0,1
    assert by_quantile(vals, diff, 2) == pytest.approx([2.0, 4.5])
    assert by_quantile(vals, np.zeros(5), 5) == pytest.approx([4.0, 1.0, 3.0, 2.0, 5.0])  # ties: order
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # empty bins are NaN by definition, not by 0/0
        out = by_quantile(np.array([1.0]), np.array([0.0]), 3)
    assert len(out) == 3 and out[0] == 1.0 and np.isnan(out[1:]).all()
    # ties keep the input order (stable ranks) also past numpy's small-array insertion sort
    ties = np.r_[np.zeros(40), np.ones(40)]
    assert by_quantile(np.arange(80.0), ties, 80) == pytest.approx(list(range(80)))
    assert np.isnan(by_quantile(np.zeros(0), np.zeros(0), 3)).all()
    assert len(by_quantile(np.zeros(0), np.zeros(0))) == 4
    r = ratio_by_quantile(np.array([2.0, 4.0, 6.0, 8.0]), np.array([1.0, 0.0, 2.0, 4.0]),
                          np.arange(4.0), 4)
    assert r[0] == 2.0 and np.isnan(r[1]) and r[2:] == [3.0, 2.0]
    assert len(ratio_by_quantile(np.arange(8.0), np.ones(8), np.arange(8.0))) == 4
    two = ratio_by_quantile(np.array([1.0, 3.0, 5.0, 7.0]), np.array([1.0, 1.0, 1e-12, 1e-12]),
                            np.arange(4.0), 2)
    assert two[0] == pytest.approx(2.0) and np.isnan(two[1])  # seed noise ≤ 1e-12: NaN
