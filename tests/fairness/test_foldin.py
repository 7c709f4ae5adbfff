"""Fold-in of users added after training: only their rows move, they fit their own items,
the same seed gives the same rows, and two models with one item table fold a user in alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.fairness.foldin import fold_in_users
from cure4rec.models.base import ModelSpec
from cure4rec.testing import toy_interactions


@pytest.fixture(scope="module")
def trained() -> tuple[object, Interactions, np.ndarray]:
    data = toy_interactions(n_users=60, n_items=40, n_groups=3, seed=0)
    late = np.arange(0, 60, 6)  # 10 users left out of training
    model = ModelSpec("bpr", {"dim": 8, "epochs": 30, "batch_size": 256, "lr": 0.02}).build()
    model.fit(data.subset(~data.users_mask(late)), None, RunContext(seed=0))
    return model, data, late


def _percentiles(model: object, data: Interactions, users: np.ndarray) -> np.ndarray:
    s = model.score(users).double().numpy()  # type: ignore[attr-defined]
    out = []
    for r, u in enumerate(users):
        items = data.item[data.user == u]
        out += [(s[r] < s[r, i]).mean() for i in items]
    return np.array(out)


def test_only_the_folded_rows_move_and_they_fit_their_items(trained) -> None:  # type: ignore[no-untyped-def]
    model, data, late = trained
    out = fold_in_users(model, data, late, RunContext(seed=1))
    before_u, after_u = model.user_table().detach(), out.user_table().detach()
    assert torch.equal(model.item_table().detach(), out.item_table().detach())
    others = np.setdiff1d(np.arange(60), late)
    assert torch.equal(before_u[others], after_u[others])
    assert not torch.equal(before_u[late], after_u[late])
    # the late users' own items now rank in their top quarter on average (an unfitted row
    # puts them at ~0.5)
    assert _percentiles(model, data, late).mean() < 0.7
    assert _percentiles(out, data, late).mean() > 0.75


def test_fold_in_is_seeded_and_depends_only_on_the_item_table(trained) -> None:  # type: ignore[no-untyped-def]
    model, data, late = trained
    a = fold_in_users(model, data, late, RunContext(seed=1))
    b = fold_in_users(model, data, late, RunContext(seed=1))
    assert torch.equal(a.user_table().detach(), b.user_table().detach())
    c = fold_in_users(model, data, late, RunContext(seed=2))
    assert not torch.equal(a.user_table().detach(), c.user_table().detach())
    # another model with the same item table but other user rows (what U2U / D2D leave):
    # the folded-in rows are identical
    moved = model.copy()
    with torch.no_grad():
        moved.user_table().mul_(-3.0)
    d = fold_in_users(moved, data, late, RunContext(seed=1))
    assert torch.equal(a.user_table().detach()[late], d.user_table().detach()[late])


def test_fold_in_refuses_models_without_a_user_row() -> None:
    data = toy_interactions(n_users=20, n_items=10, n_groups=2, seed=0)
    model = ModelSpec("lightgcn", {"dim": 4, "epochs": 1}).build()
    model.fit(data, None, RunContext(seed=0))
    with pytest.raises(ConfigError, match="fold-in supports bpr, mf-bce, wmf, not 'lightgcn'"):
        fold_in_users(model, data, np.array([0]), RunContext(seed=0))
