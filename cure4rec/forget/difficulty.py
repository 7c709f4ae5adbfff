"""`hard` / `easy` forget sets: the top / bottom p% users by unlearning difficulty.

Difficulty is the Hessian-trace proxy (cure4rec.metrics.difficulty) of an original model
trained on the train set with a fixed, small BPR configuration (`PROBE_MODEL`), seeded from
the selection context — so the selection is deterministic given (split, fraction, seed).
Ties are broken by user index.
"""

from __future__ import annotations

import numpy as np

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.forget.select import (
    ForgetOptions,
    Selection,
    _need_fraction,
    _users_only,
    _users_selection,
    n_select,
    register_strategy,
)
from cure4rec.metrics.difficulty import difficulty
from cure4rec.models.base import ModelSpec

PROBE_MODEL = ModelSpec("bpr", {"dim": 32, "epochs": 20, "patience": 20})


def difficulty_order(train: Interactions, ctx: RunContext, hardest: bool = True,
                     spec: ModelSpec = PROBE_MODEL) -> np.ndarray:
    """Train users from hardest to easiest (or the reverse); ties: lower index first."""
    model = spec.build()
    model.fit(train, None, ctx.child("difficulty-probe"))
    diff = difficulty(model, train, ctx)
    users = train.active_users()
    return users[np.lexsort((users, -diff[users] if hardest else diff[users]))]


def _pick(train: Interactions, fraction: float | None, ctx: RunContext, opts: ForgetOptions,
          name: str, hardest: bool) -> Selection:
    _users_only(opts, name)
    order = difficulty_order(train, ctx, hardest)
    return _users_selection(train, order[: n_select(len(order), _need_fraction(fraction, name))])


@register_strategy("hard")
def hard(train: Interactions, fraction: float | None, ctx: RunContext,
         opts: ForgetOptions) -> Selection:
    """The p% users hardest to unlearn (largest Hessian-trace proxy)."""
    return _pick(train, fraction, ctx, opts, "hard", hardest=True)


@register_strategy("easy")
def easy(train: Interactions, fraction: float | None, ctx: RunContext,
         opts: ForgetOptions) -> Selection:
    """The p% users easiest to unlearn (smallest Hessian-trace proxy)."""
    return _pick(train, fraction, ctx, opts, "easy", hardest=False)
