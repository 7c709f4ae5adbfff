"""Which user representation attribute unlearning changes and attribute attacks read.

Every native model exposes its trainable ego user table (`user_table()`); NeuMF has two
(`user_tables()`: GMF and MLP). We treat and attack the *concatenation* of all user tables,
stricter than the MM'23 code, which protects and attacks only NeuMF's GMF table. For
LightGCN the ego (layer-0) table is used, as in the public code.
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


def user_representation(model: Any) -> np.ndarray:
    """The detached representation an attribute attacker sees, `[n_users, d]` float64."""
    with torch.no_grad():
        return user_rows(model).detach().cpu().double().numpy()


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
