"""Interactions: immutable user/item index arrays in one shared index space.

Every split, shard, forget set and retain set derived from a dataset keeps the dataset's
`n_users`, `n_items`, token maps and attribute table, so scores and embeddings of models
trained on any of them are row-aligned without re-indexing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cure4rec.errors import DataError

_HASH_LAYOUT_VERSION = 1


def _frozen(a: np.ndarray | None, dtype: Any) -> np.ndarray | None:
    if a is None:
        return None
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Interactions:
    """Implicit-feedback interactions `(user[k], item[k])` with optional rating and timestamp.

    Arrays are copied on construction and made read-only. `user_tokens[u]` / `item_tokens[i]`
    are the original ids of index `u` / `i`; `user_attributes` (optional) is a DataFrame with
    one row per user index (0..n_users-1) and one column per attribute (string values,
    missing as `pd.NA`).
    """

    user: np.ndarray
    item: np.ndarray
    n_users: int
    n_items: int
    rating: np.ndarray | None = None
    timestamp: np.ndarray | None = None
    # Default: the index as a string; always an array after __post_init__.
    user_tokens: np.ndarray = None  # type: ignore[assignment]
    item_tokens: np.ndarray = None  # type: ignore[assignment]
    user_attributes: pd.DataFrame | None = None
    item_attributes: pd.DataFrame | None = None
    name: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "user", _frozen(self.user, np.int64))
        set_(self, "item", _frozen(self.item, np.int64))
        set_(self, "rating", _frozen(self.rating, np.float32))
        set_(self, "timestamp", _frozen(self.timestamp, np.float64))
        n = len(self.user)
        if len(self.item) != n:
            raise DataError(f"user and item arrays differ in length ({n} vs {len(self.item)})")
        for nm in ("rating", "timestamp"):
            arr = getattr(self, nm)
            if arr is not None and len(arr) != n:
                raise DataError(f"{nm} has {len(arr)} values for {n} interactions")
        if n and (self.user.min() < 0 or self.user.max() >= self.n_users):
            raise DataError(f"user index outside [0, {self.n_users})")
        if n and (self.item.min() < 0 or self.item.max() >= self.n_items):
            raise DataError(f"item index outside [0, {self.n_items})")
        if self.user_tokens is None:
            set_(self, "user_tokens", np.arange(self.n_users).astype(str).astype(object))
        if self.item_tokens is None:
            set_(self, "item_tokens", np.arange(self.n_items).astype(str).astype(object))
        if len(self.user_tokens) != self.n_users or len(self.item_tokens) != self.n_items:
            raise DataError("token maps must have exactly n_users / n_items entries")
        if self.user_attributes is not None and len(self.user_attributes) != self.n_users:
            raise DataError("user_attributes must have one row per user index")

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.user)

    def __repr__(self) -> str:
        return (f"Interactions({self.name or 'unnamed'}: {len(self)} interactions, "
                f"{self.n_users} users x {self.n_items} items)")

    @classmethod
    def from_pairs(cls, user: Any, item: Any, n_users: int | None = None,
                   n_items: int | None = None, **kw: Any) -> Interactions:
        """Build from index arrays (sizes default to max index + 1)."""
        u = np.asarray(user, dtype=np.int64)
        i = np.asarray(item, dtype=np.int64)
        n_users = int(u.max()) + 1 if n_users is None else n_users
        n_items = int(i.max()) + 1 if n_items is None else n_items
        return cls(u, i, n_users, n_items, **kw)

    def with_arrays(self, user: np.ndarray, item: np.ndarray, rating: np.ndarray | None = None,
                    timestamp: np.ndarray | None = None, name: str | None = None) -> Interactions:
        """New interactions in the same index space (token maps and attributes shared)."""
        return Interactions(user, item, self.n_users, self.n_items, rating, timestamp,
                            self.user_tokens, self.item_tokens, self.user_attributes,
                            self.item_attributes, self.name if name is None else name)

    def subset(self, rows: np.ndarray, name: str | None = None) -> Interactions:
        """The interactions selected by a boolean mask or an integer index array."""
        rows = np.asarray(rows)
        pick = (lambda a: None if a is None else a[rows])
        return self.with_arrays(self.user[rows], self.item[rows], pick(self.rating),
                                pick(self.timestamp), name)

    def same_space(self, other: Interactions) -> bool:
        """True when `other` shares this index space (sizes and token maps)."""
        return (self.n_users == other.n_users and self.n_items == other.n_items
                and (self.user_tokens is other.user_tokens
                     or np.array_equal(self.user_tokens, other.user_tokens))
                and (self.item_tokens is other.item_tokens
                     or np.array_equal(self.item_tokens, other.item_tokens)))

    # ------------------------------------------------------------------ keys and set algebra
    @property
    def keys(self) -> np.ndarray:
        """One int64 key per interaction: `user * n_items + item`."""
        if "keys" not in self._cache:
            k = self.user * np.int64(self.n_items) + self.item
            k.setflags(write=False)
            self._cache["keys"] = k
        return self._cache["keys"]

    def isin(self, other: Interactions) -> np.ndarray:
        """Boolean mask: which of these interactions also occur (as a pair) in `other`."""
        self._check_space(other)
        return np.isin(self.keys, other.keys)

    def difference(self, other: Interactions, name: str | None = None) -> Interactions:
        """These interactions minus the user-item pairs present in `other`."""
        return self.subset(~self.isin(other), name)

    def concat(self, other: Interactions, name: str | None = None) -> Interactions:
        """Rows of both (same index space); ratings/timestamps kept only if both have them."""
        self._check_space(other)
        both = (lambda a, b: None if a is None or b is None else np.concatenate([a, b]))
        return self.with_arrays(np.concatenate([self.user, other.user]),
                                np.concatenate([self.item, other.item]),
                                both(self.rating, other.rating),
                                both(self.timestamp, other.timestamp), name)

    def users_mask(self, users: np.ndarray) -> np.ndarray:
        """Boolean mask of the interactions whose user is in `users`."""
        flag = np.zeros(self.n_users, dtype=bool)
        flag[np.asarray(users, dtype=np.int64)] = True
        return flag[self.user]

    def _check_space(self, other: Interactions) -> None:
        if self.n_users != other.n_users or self.n_items != other.n_items:
            raise DataError(f"index spaces differ: {self.n_users}x{self.n_items} vs "
                            f"{other.n_users}x{other.n_items}")

    # ------------------------------------------------------------------ views
    def csr(self) -> sp.csr_matrix:
        """Binary user x item CSR matrix (float32; duplicates collapse to 1). Cached."""
        if "csr" not in self._cache:
            m = sp.csr_matrix((np.ones(len(self), dtype=np.float32), (self.user, self.item)),
                              shape=(self.n_users, self.n_items))
            m.sum_duplicates()
            m.data[:] = 1.0
            self._cache["csr"] = m
        return self._cache["csr"]

    def csc(self) -> sp.csc_matrix:
        """Binary user x item CSC matrix (per-item access). Cached."""
        if "csc" not in self._cache:
            self._cache["csc"] = self.csr().tocsc()
        return self._cache["csc"]

    def user_degree(self) -> np.ndarray:
        """Number of interactions of every user index (length n_users)."""
        return np.bincount(self.user, minlength=self.n_users)

    def item_degree(self) -> np.ndarray:
        """Number of interactions of every item index (length n_items)."""
        return np.bincount(self.item, minlength=self.n_items)

    def active_users(self) -> np.ndarray:
        """Sorted user indices with at least one interaction."""
        return np.flatnonzero(self.user_degree())

    def sorted(self) -> Interactions:
        """Canonical order: by user, then item (then timestamp)."""
        if len(self) < 2 or bool(np.all(np.diff(self.keys) > 0)):
            return self  # already strictly ordered by (user, item): nothing to tie-break
        keys = [self.item, self.user] if self.timestamp is None else [self.timestamp, self.item,
                                                                      self.user]
        return self.subset(np.lexsort(keys))

    def to_frame(self, tokens: bool = False) -> pd.DataFrame:
        """A DataFrame with columns user, item (+ rating, timestamp); tokens if asked."""
        cols: dict[str, Any] = {
            "user": self.user_tokens[self.user] if tokens else self.user,
            "item": self.item_tokens[self.item] if tokens else self.item,
        }
        if self.rating is not None:
            cols["rating"] = self.rating
        if self.timestamp is not None:
            cols["timestamp"] = self.timestamp
        return pd.DataFrame(cols)

    # ------------------------------------------------------------------ identity
    def content_sha256(self) -> str:
        """sha256 of a canonical byte layout: independent of row order and of Python version.

        Layout v1: a JSON header (sizes, which optional fields exist), then the rows sorted
        by (user, item[, timestamp]) as little-endian int64 user, int64 item, float32 rating,
        float64 timestamp, then the token maps joined by newlines (utf-8).
        """
        if "sha256" in self._cache:
            return self._cache["sha256"]
        s = self.sorted()
        h = hashlib.sha256()
        header = {"layout": _HASH_LAYOUT_VERSION, "n_users": self.n_users,
                  "n_items": self.n_items, "n": len(self),
                  "rating": self.rating is not None, "timestamp": self.timestamp is not None}
        h.update(json.dumps(header, sort_keys=True).encode())
        h.update(s.user.astype("<i8").tobytes())
        h.update(s.item.astype("<i8").tobytes())
        if s.rating is not None:
            h.update(s.rating.astype("<f4").tobytes())
        if s.timestamp is not None:
            h.update(s.timestamp.astype("<f8").tobytes())
        h.update("\n".join(map(str, s.user_tokens)).encode())
        h.update(b"\x00")
        h.update("\n".join(map(str, s.item_tokens)).encode())
        digest = h.hexdigest()
        self._cache["sha256"] = digest
        return digest

    def stats(self) -> dict[str, Any]:
        """Users/items with interactions, interactions, density and degree quantiles."""
        ud = self.user_degree()
        idg = self.item_degree()
        ud, idg = ud[ud > 0], idg[idg > 0]
        n_u, n_i = len(ud), len(idg)
        q = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]

        def quantiles(d: np.ndarray) -> dict[str, float]:
            if len(d) == 0:
                return {}
            return {f"q{int(p * 100):02d}": float(np.quantile(d, p)) for p in q}

        density = len(self) / (n_u * n_i) if n_u and n_i else 0.0
        return {"users": n_u, "items": n_i, "interactions": len(self),
                "density": density, "sparsity": 1.0 - density,
                "user_degree": quantiles(ud), "item_degree": quantiles(idg)}
