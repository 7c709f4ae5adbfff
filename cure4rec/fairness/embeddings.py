"""Which user representation attribute unlearning changes and attribute attacks read.

Every native model exposes its trainable ego user table (`user_table()`); NeuMF has two
(`user_tables()`: GMF and MLP). Two views:
- the *trainable* rows (`user_rows`): the concatenation of all user tables (stricter than the
  MM'23 code, which protects and attacks only NeuMF's GMF table); for LightGCN the ego
  (layer-0) table, as in the public code;
- the *served* rows (`served_rows`, `served_representation`): the user vector the model
  scores with. For LightGCN the propagated layer mean (depends on the ego user *and* item
  tables through the graph); for every other native model the trainable rows themselves.
Adversary (a) of docs/fairness.md holds the served representation; the methods optimise the
trainable tables so that the served rows (`target="served"`, default) become indistinguishable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError


def user_tables(model: Any) -> list[torch.nn.Parameter]:
    """The trainable user embedding tables of `model` (one, or both NeuMF tables)."""
    if callable(getattr(model, "user_tables", None)):
        return list(model.user_tables())
    if callable(getattr(model, "user_table", None)):
        return [model.user_table()]
    raise ConfigError(f"model {getattr(model, 'name', type(model).__name__)!r} has no user "
                      "embedding table; attribute methods need a native embedding model")


def user_rows(model: Any, users: torch.Tensor | None = None) -> torch.Tensor:
    """Differentiable user representation rows (all users when `users` is None)."""
    tabs = user_tables(model)
    rows = [t if users is None else t[users.to(t.device)] for t in tabs]
    return rows[0] if len(rows) == 1 else torch.cat(rows, dim=1)


def served_rows(model: Any, users: torch.Tensor | None = None) -> torch.Tensor:
    """Differentiable rows of the representation `model` scores with (all users when None):
    LightGCN's propagated user embedding, otherwise `user_rows`."""
    if callable(getattr(model, "propagate", None)):
        user_tables(model)  # same error as user_rows for models without tables
        pu = model.propagate()[0]
        return pu if users is None else pu[users.to(pu.device)]
    return user_rows(model, users)


def representation_rows(model: Any, target: str, users: torch.Tensor | None = None
                        ) -> torch.Tensor:
    """`served_rows` (target "served") or `user_rows` (target "ego")."""
    if target == "served":
        return served_rows(model, users)
    if target == "ego":
        return user_rows(model, users)
    raise ConfigError(f"unknown representation target {target!r}; use served or ego")


def user_representation(model: Any, target: str = "served") -> np.ndarray:
    """The detached representation an attribute attacker sees, `[n_users, d]` float64:
    the served one by default (adversary (a)), `target="ego"` for the trainable tables."""
    with torch.no_grad():
        return representation_rows(model, target).detach().cpu().double().numpy()


def attribute_codes(data: Interactions, attribute: str) -> tuple[np.ndarray, list[str]]:
    """Integer class per user index (-1 where missing) and the sorted class names."""
    table = data.user_attributes
    if table is None or attribute not in table.columns:
        have = [] if table is None else list(table.columns)
        raise ConfigError(f"user attribute {attribute!r} not available; dataset has "
                          f"{', '.join(have) or 'no user attributes'}")
    col = table[attribute]
    present = col.notna().to_numpy() & (col.astype(str).str.len() > 0).to_numpy()
    classes = sorted(pd.unique(col[present].astype(str)))
    codes = np.full(len(col), -1, dtype=np.int64)
    codes[present] = pd.Categorical(col[present].astype(str), categories=classes).codes
    return codes, classes
