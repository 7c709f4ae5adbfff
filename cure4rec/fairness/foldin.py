"""Fold-in of users who arrive after training (and after unlearning).

A deployed MF recommender gives a new user a row without retraining: the item table stays
fixed and only the new row is fitted to the user's interactions. `fold_in_users` does that
for the dot-product MF models (`bpr`, `mf-bce`, `wmf`): the rows of `users` are
re-initialised from the context's seed and fitted by full-batch Adam on the BPR loss (one
uniform negative per positive, redrawn each epoch) plus the model's L2 on the row; every
other parameter is left bit-identical. It is a standard fold-in, not the model's own
training schedule (WMF's would be one ALS solve); it is what docs/fairness.md's
"users added after unlearning" measurement uses, identically for every method, so the
comparison between methods does not depend on the choice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError

FOLD_IN_MODELS = ("bpr", "mf-bce", "wmf")


def fold_in_users(model: Any, data: Interactions, users: np.ndarray, ctx: RunContext,
                  epochs: int = 100, lr: float = 0.05) -> Any:
    """A copy of `model` whose rows of `users` are fitted to their pairs in `data` against
    the frozen item table (everything else unchanged)."""
    if getattr(model, "name", None) not in FOLD_IN_MODELS:
        raise ConfigError(f"fold-in supports {', '.join(FOLD_IN_MODELS)}, not "
                          f"{getattr(model, 'name', type(model).__name__)!r}")
    users = np.unique(np.asarray(users, dtype=np.int64))
    mine = data.subset(data.users_mask(users))
    out = model.copy()
    table = out.user_table()
    items = out.item_table().detach()
    g = torch.Generator().manual_seed(ctx.child("fold-in").derived_seed() % 2**63)
    init = torch.randn(len(users), table.shape[1], generator=g, dtype=table.dtype)
    rows = (init * float(getattr(out, "init_std", 0.1))).requires_grad_()
    local = torch.from_numpy(np.searchsorted(users, mine.user))
    pos = items[torch.from_numpy(mine.item.astype(np.int64))]
    reg = float(getattr(out.config, "reg", 0.0))
    opt = torch.optim.Adam([rows], lr=lr)
    for _ in range(epochs):
        neg = items[torch.randint(0, items.shape[0], (len(mine),), generator=g)]
        u = rows[local]
        loss = F.softplus(((neg - pos) * u).sum(-1)).mean() + reg * 0.5 * (u * u).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        table[torch.from_numpy(users)] = rows.detach().to(table.dtype)
    out.invalidate()
    return out
