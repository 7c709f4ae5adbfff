"""A toy dataset and a tiny full-batch MF model, so the conformance kit runs in seconds.

`ToyMF` follows the native-model API of `docs/architecture.md` ("Models"): `fit` with
`init_from`, `regularizers` and `epochs`, `batch_loss`, `pointwise_loss`, `user_table`,
`item_table`, `copy`. Use it as ``ModelSpec("cure4rec.testing.toy:ToyMF")``.
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.models.base import FitResult, Recommender

TOY_MODEL = "cure4rec.testing.toy:ToyMF"


class ToyBatch(NamedTuple):
    """A training batch: users with one positive and one sampled negative item each."""

    users: torch.Tensor
    pos_items: torch.Tensor
    neg_items: torch.Tensor


class ToyMF(Recommender):
    """BPR matrix factorisation trained full-batch with Adam (deterministic, milliseconds)."""

    name = "toy-mf"

    @dataclass(frozen=True)
    class Config:
        dim: int = 8
        epochs: int = 25
        lr: float = 0.05
        reg: float = 1e-4

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or ToyMF.Config()
        self.U = torch.zeros(0, self.config.dim)
        self.V = torch.zeros(0, self.config.dim)

    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext, *,
            init_from: ToyMF | None = None, regularizers: Any = (),
            epochs: int | None = None) -> FitResult:
        """Train on `train` (valid is ignored: fixed epoch budget)."""
        g = ctx.torch_generator()
        self.setup(train, ctx, init_from, generator=g)
        self.U.requires_grad_(True)
        self.V.requires_grad_(True)
        opt = torch.optim.Adam([self.U, self.V], lr=self.config.lr)
        users = torch.tensor(train.user)
        pos = torch.tensor(train.item)
        n_ep = self.config.epochs if epochs is None else epochs
        for _ in range(n_ep):
            if len(users) == 0:
                break
            batch = ToyBatch(users, pos, torch.randint(self.n_items, (len(users),), generator=g))
            loss = self.batch_loss(batch) + sum((r(self, batch) for r in regularizers),
                                                torch.zeros(()))
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.U.requires_grad_(False)
        self.V.requires_grad_(False)
        return FitResult(epochs=n_ep, best_epoch=n_ep)

    def setup(self, train: Interactions, ctx: RunContext, init_from: ToyMF | None = None, *,
              generator: torch.Generator | None = None) -> None:
        """Size and initialise the tables N(0, 0.1²) for `train` (or copy `init_from`'s)."""
        self.n_users, self.n_items = train.n_users, train.n_items
        if init_from is not None:
            self.U, self.V = init_from.U.detach().clone(), init_from.V.detach().clone()
            return
        g = generator or ctx.torch_generator()
        self.U = torch.randn(self.n_users, self.config.dim, generator=g) * 0.1
        self.V = torch.randn(self.n_items, self.config.dim, generator=g) * 0.1

    def batch_loss(self, batch: ToyBatch) -> torch.Tensor:
        """Mean BPR loss plus L2 on the batch's embeddings."""
        u, p, n = self.U[batch.users], self.V[batch.pos_items], self.V[batch.neg_items]
        diff = (u * p).sum(1) - (u * n).sum(1)
        l2 = (u.pow(2).sum() + p.pow(2).sum() + n.pow(2).sum()) / len(batch.users)
        return -F.logsigmoid(diff).mean() + self.config.reg * l2

    def pointwise_loss(self, users: torch.Tensor, items: torch.Tensor,
                       labels: torch.Tensor) -> torch.Tensor:
        """Per-pair BCE-with-logits of the dot-product score."""
        s = (self.U[torch.as_tensor(users)] * self.V[torch.as_tensor(items)]).sum(1)
        return F.binary_cross_entropy_with_logits(s, torch.as_tensor(labels, dtype=s.dtype),
                                                  reduction="none")

    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Dot-product scores of `users` against every item."""
        with torch.no_grad():
            return self.U[torch.as_tensor(users, dtype=torch.long)] @ self.V.T

    def user_table(self) -> torch.Tensor:
        return self.U

    def item_table(self) -> torch.Tensor:
        return self.V

    def user_embeddings(self) -> torch.Tensor:
        return self.U.detach()

    def item_embeddings(self) -> torch.Tensor:
        return self.V.detach()

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors (as `torch.nn.Module.parameters` would list them)."""
        return [self.U, self.V]

    def copy(self) -> ToyMF:
        """A deep copy of this fitted model."""
        return _copy.deepcopy(self)

    def state_dict(self) -> dict[str, Any]:
        return {"U": self.U.detach().clone(), "V": self.V.detach().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.U, self.V = state["U"].clone(), state["V"].clone()
        self.n_users, self.n_items = len(self.U), len(self.V)


def toy_interactions(n_users: int = 60, n_items: int = 40, n_groups: int = 3,
                     per_user: int = 8, seed: int = 0) -> Interactions:
    """Clustered implicit feedback: each user group prefers its own block of items."""
    rng = np.random.default_rng(seed)
    group = np.arange(n_users) % n_groups
    block = n_items // n_groups
    users = np.repeat(np.arange(n_users), per_user)
    in_block = rng.random(len(users)) < 0.85
    own = group[users] * block + rng.integers(0, block, len(users))
    items = np.where(in_block, own, rng.integers(0, n_items, len(users)))
    keys = np.unique(users * n_items + items)
    return Interactions.from_pairs(keys // n_items, keys % n_items, n_users, n_items,
                                   name="toy")
