"""Train/valid/test splits: seeded per-user random, temporal leave-last-out, pre-split files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError, DataError

PROTOCOLS = ("random", "temporal", "presplit")


@dataclass(frozen=True)
class DatasetRef:
    """Which dataset (and exact content) a split was made from."""

    name: str
    version: str
    sha256: str

    @property
    def ref(self) -> str:
        """`name@version`."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, eq=False)
class DataSplit:
    """Train, valid and test interactions in one index space, with provenance and a hash."""

    train: Interactions
    valid: Interactions
    test: Interactions
    dataset: DatasetRef
    protocol: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""

    def __post_init__(self) -> None:
        for part in (self.valid, self.test):
            if not self.train.same_space(part):
                raise DataError("train, valid and test must share one index space")
        h = hashlib.sha256()
        for nm in ("train", "valid", "test"):
            h.update(f"{nm}:{getattr(self, nm).content_sha256()}\n".encode())
        object.__setattr__(self, "sha256", h.hexdigest())

    @property
    def seed(self) -> int | None:
        """The seed of a random split (None for deterministic protocols)."""
        return self.protocol.get("seed")


def _rank_within_user(user: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order by (user, key), and the 0-based rank of each ordered row within its user."""
    order = np.lexsort((key, user))
    u = user[order]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(u)]))
    return order, np.arange(len(u)) - first


def _counts(n: np.ndarray, ratios: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-user test and valid sizes: rounded shares, at least 1 each while 1+ stays in train."""
    n_test = np.floor(n * ratios[2] + 0.5).astype(np.int64)
    n_valid = np.floor(n * ratios[1] + 0.5).astype(np.int64)
    if ratios[2] > 0:
        n_test = np.where(n >= 2, np.maximum(n_test, 1), 0)
    if ratios[1] > 0:
        n_valid = np.where(n - n_test >= 2, np.maximum(n_valid, 1), 0)
    n_valid = np.minimum(n_valid, np.maximum(n - n_test - 1, 0))
    return n_test, n_valid


def _assign(inter: Interactions, key: np.ndarray, n_test: np.ndarray,
            n_valid: np.ndarray) -> np.ndarray:
    """Part label per row (0 train, 1 valid, 2 test): the last-ranked rows go to test."""
    order, rank = _rank_within_user(inter.user, key)
    deg = inter.user_degree()
    u = inter.user[order]
    from_end = deg[u] - 1 - rank
    part = np.zeros(len(inter), dtype=np.int8)
    part[order] = np.where(from_end < n_test[u], 2, np.where(from_end < n_test[u] + n_valid[u],
                                                             1, 0))
    return part


def split_parts(inter: Interactions, part: np.ndarray, dataset: DatasetRef,
                protocol: dict[str, Any]) -> DataSplit:
    """A DataSplit from a per-row part label (0 train, 1 valid, 2 test)."""
    base = inter.name or dataset.name
    train, valid, test = (inter.subset(part == k, f"{base}-{nm}")
                          for k, nm in enumerate(("train", "valid", "test")))
    if len(train) == 0:
        raise DataError(f"{dataset.ref}: the split leaves an empty train set")
    return DataSplit(train, valid, test, dataset, protocol)


def random_split(inter: Interactions, dataset: DatasetRef, seed: int = 0,
                 ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> DataSplit:
    """Seeded per-user random split by the given train/valid/test ratios."""
    ratios = _check_ratios(ratios)
    rng = RunContext(seed=seed).child("data-split").rng()
    key = rng.random(len(inter))
    n_test, n_valid = _counts(inter.user_degree(), ratios)
    part = _assign(inter, key, n_test, n_valid)
    return split_parts(inter, part, dataset, {"protocol": "random", "seed": seed,
                                              "ratios": list(ratios)})


def presplit_with_valid(inter: Interactions, part: np.ndarray, dataset: DatasetRef,
                        valid_ratio: float, seed: int = 0) -> DataSplit:
    """A shipped train/test split with a seeded validation carve-out from train: per user,
    round(valid_ratio · n_train) of their train rows (at least 1 while 1+ stays in train)
    go to valid, chosen by the split seed; the shipped test rows are untouched."""
    if not 0 < valid_ratio < 1:
        raise ConfigError(f"{dataset.ref}: split.valid_ratio must be in (0, 1), "
                          f"got {valid_ratio}")
    if np.any(part == 1):
        raise DataError(f"{dataset.ref}: the shipped split already has a validation part")
    train = part == 0
    rng = RunContext(seed=seed).child("data-split").rng()
    key = np.where(train, rng.random(len(inter)), np.inf)  # test rows rank last: never valid
    n_train = np.bincount(inter.user[train], minlength=inter.n_users)
    _, n_valid = _counts(n_train, (1.0 - valid_ratio, valid_ratio, 0.0))
    order, rank = _rank_within_user(inter.user, key)
    new = part.copy()
    pick = order[rank < n_valid[inter.user[order]]]
    new[pick] = 1
    return split_parts(inter, new, dataset, {"protocol": "presplit", "seed": seed,
                                             "valid_ratio": float(valid_ratio)})


def temporal_split(inter: Interactions, dataset: DatasetRef) -> DataSplit:
    """Leave-last-out: each user's last interaction to test, the previous one to valid."""
    if inter.timestamp is None:
        raise DataError(f"{dataset.ref}: a temporal split needs timestamps")
    order = np.lexsort((inter.item, inter.timestamp, inter.user))  # ties: by item index
    ranked = np.empty(len(inter), dtype=np.float64)
    ranked[order] = np.arange(len(inter))
    deg = inter.user_degree()
    n_test = (deg >= 2).astype(np.int64)
    n_valid = (deg >= 3).astype(np.int64)
    part = _assign(inter, ranked, n_test, n_valid)
    return split_parts(inter, part, dataset, {"protocol": "temporal", "seed": None})


def _check_ratios(ratios: tuple[float, ...]) -> tuple[float, float, float]:
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-9:
        raise ConfigError(f"split ratios must be three non-negative numbers summing to 1, "
                          f"got {tuple(ratios)}")
    if ratios[0] <= 0:
        raise ConfigError(f"the train ratio must be positive, got {ratios[0]}")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))
