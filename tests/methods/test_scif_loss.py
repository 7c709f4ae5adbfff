"""SCIF's paper step on the model's own training loss (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import make_method
from cure4rec.models.base import ModelSpec
from cure4rec.testing import toy_interactions

CTX = RunContext(seed=3)


def _request(train, users):  # type: ignore[no-untyped-def]
    users = np.asarray(users)
    return ForgetRequest("users", train.subset(train.users_mask(users)), users)


def test_wmf_step_is_the_relabelled_als_solve() -> None:
    """From an ALS-optimal user row, SCIF-on-ALS lands exactly on the user's ridge solution
    with the forgotten positives relabelled to ȳ (the loss is quadratic in the row)."""
    train = toy_interactions()
    spec = ModelSpec("wmf", {"dim": 8, "epochs": 3, "reg": 0.5, "alpha": 2.0})
    m = make_method("scif", spec)
    state = m.learn(train, CTX)
    model = state.model
    U, V = model.user_table().detach(), model.item_table().detach().double()  # type: ignore[attr-defined]
    alpha, reg = 2.0, 0.5
    csr = train.csr().toarray()

    def solve(u: int, p: np.ndarray) -> torch.Tensor:
        c = torch.as_tensor(1 + alpha * (csr[u] > 0))
        A = V.T @ (c[:, None] * V) + reg * torch.eye(8, dtype=V.dtype)
        return torch.linalg.solve(A, V.T @ (c * torch.as_tensor(p)))

    users = [4, 17]
    with torch.no_grad():  # make the target rows ALS-optimal for the fixed items
        for u in users:
            U[u] = solve(u, (csr[u] > 0).astype(float)).float()
    req = _request(train, users)
    out = m.unlearn(state, req, CTX)
    assert out.info["loss"] == "als"
    retain = req.retained(train)
    n_left = int((retain.user_degree() > 0).sum())
    new = out.model.user_table().detach()  # type: ignore[attr-defined]
    for u in users:
        p = (csr[u] > 0).astype(float)
        items = np.flatnonzero(p)
        p[items] = retain.item_degree()[items] / n_left  # deleted user: item-mean ȳ
        assert torch.allclose(new[u].double(), solve(u, p), atol=1e-4)
    others = np.setdiff1d(np.arange(train.n_users), users)
    assert torch.equal(new[others], U[others])


def test_bpr_step_uses_the_pairwise_loss_and_forgets() -> None:
    train = toy_interactions()
    spec = ModelSpec("bpr", {"dim": 8, "epochs": 6, "batch_size": 128, "lr": 0.05})
    users = np.arange(0, 60, 10)
    req = _request(train, users)
    own = make_method("scif", spec)
    state = own.learn(train, CTX)
    before = state.model.score(users)
    out = own.unlearn(state, req, CTX)
    assert out.info["loss"] == "bpr"
    after = out.model.score(users)
    u, i = torch.tensor(req.forget.user), torch.tensor(req.forget.item)
    pos = {int(x): k for k, x in enumerate(users)}
    rows = torch.as_tensor([pos[int(x)] for x in u])
    # the forgotten items lose their lead over the user's average item
    lead = lambda s: float((s[rows, i] - s.mean(1)[rows]).mean())  # noqa: E731
    assert lead(after) < 0.5 * lead(before)
    bce = make_method("scif", spec, {"loss": "bce"}).unlearn(state, req, CTX)
    assert bce.info["loss"] == "bce"
    assert not torch.allclose(bce.model.score(users), after)


def test_own_loss_rejects_a_bce_gradient_term() -> None:
    spec = ModelSpec("bpr", {"dim": 8, "epochs": 2, "batch_size": 128})
    train = toy_interactions()
    m = make_method("scif", spec, {"grad_term": "newton"})
    state = m.learn(train, CTX)
    with pytest.raises(ConfigError, match="grad_term"):
        m.unlearn(state, _request(train, [3]), CTX)
