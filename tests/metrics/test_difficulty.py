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
