"""Synthetic implicit feedback: latent tastes, power-law activity/popularity, a user group.

Each user belongs to one of `n_groups` groups; a user's taste vector is its group's centre
plus noise, so the group is inferable from the items the user interacts with. Items get a
`genre` (the argmax of their first `n_genres` factor dimensions). Sampling is vectorised
over chunks of users: per-user item probabilities softmax(taste . item + popularity), drawn by
Gumbel top-k (sampling without replacement), so each user gets exactly its drawn count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cure4rec.context import RunContext
from cure4rec.data.readers import RawData
from cure4rec.errors import ConfigError


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes and shape parameters of the generator (defaults: quickstart scale)."""

    n_users: int = 1000
    n_items: int = 800
    n_interactions: int = 40000
    seed: int = 0
    n_groups: int = 2
    dim: int = 16
    n_genres: int = 5
    user_zipf: float = 0.8
    item_zipf: float = 0.9
    group_strength: float = 1.5
    temperature: float = 1.0
    min_per_user: int = 5

    def __post_init__(self) -> None:
        for key in ("n_users", "n_items", "n_interactions", "n_groups", "dim", "n_genres"):
            if getattr(self, key) < 1:
                raise ConfigError(f"synthetic.{key} must be >= 1, got {getattr(self, key)}")
        if self.n_interactions > self.n_users * self.n_items // 2:
            raise ConfigError(f"synthetic.n_interactions={self.n_interactions} exceeds half the "
                              f"user x item matrix ({self.n_users} x {self.n_items})")


def _zipf_weights(n: int, a: float, rng: np.random.Generator) -> np.ndarray:
    w = (np.arange(1, n + 1, dtype=np.float64)) ** -a
    return rng.permutation(w / w.sum())


def _user_counts(cfg: SyntheticConfig, rng: np.random.Generator) -> np.ndarray:
    extra = cfg.n_interactions - cfg.min_per_user * cfg.n_users
    counts = np.full(cfg.n_users, cfg.min_per_user, dtype=np.int64)
    cap = cfg.n_items // 2
    w = _zipf_weights(cfg.n_users, cfg.user_zipf, rng)
    for _ in range(20):  # hand the mass cut by the cap to the users below it
        if extra <= 0:
            break
        free = np.where(counts < cap, w, 0.0)
        counts = np.minimum(counts + rng.multinomial(extra, free / free.sum()), cap)
        extra = cfg.n_interactions - int(counts.sum())
    return counts


def _sample(tastes: np.ndarray, items: np.ndarray, pop: np.ndarray, temp: float,
            counts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`counts[u]` distinct items per user, without replacement, P ~ exp(logit) (Gumbel top-k).

    Works on chunks of users so the user x item logit matrix is never held whole.
    """
    n_items = len(items)
    chunk = max(1, 4_000_000 // n_items)
    users_out, items_out = [], []
    for lo in range(0, len(tastes), chunk):
        hi = min(len(tastes), lo + chunk)
        z = (tastes[lo:hi] @ items.T + pop) / temp + rng.gumbel(size=(hi - lo, n_items))
        kmax = int(counts[lo:hi].max())
        top = np.argpartition(-z, kmax - 1, axis=1)[:, :kmax] if kmax < n_items else \
            np.tile(np.arange(n_items), (hi - lo, 1))
        ztop = np.take_along_axis(z, top, axis=1)
        top = np.take_along_axis(top, np.argsort(-ztop, axis=1), axis=1)
        take = np.arange(kmax)[None, :] < counts[lo:hi, None]
        users_out.append(np.broadcast_to(np.arange(lo, hi)[:, None], take.shape)[take])
        items_out.append(top[take])
    return np.concatenate(users_out), np.concatenate(items_out)


def generate(cfg: SyntheticConfig | None = None, ctx: RunContext | None = None) -> RawData:
    """A raw interaction table (+ user `group`, item `genre`) for `cfg`."""
    cfg = cfg or SyntheticConfig()
    rng = (ctx or RunContext(seed=cfg.seed)).child("synthetic").rng()
    centres = rng.normal(size=(cfg.n_groups, cfg.dim)) * cfg.group_strength / np.sqrt(cfg.dim)
    group = rng.integers(cfg.n_groups, size=cfg.n_users)
    tastes = centres[group] + rng.normal(size=(cfg.n_users, cfg.dim)) / np.sqrt(cfg.dim)
    items = rng.normal(size=(cfg.n_items, cfg.dim))
    pop = np.log(_zipf_weights(cfg.n_items, cfg.item_zipf, rng) * cfg.n_items)
    counts = _user_counts(cfg, rng)
    user, item = _sample(tastes, items, pop, cfg.temperature, counts, rng)
    ts = rng.integers(1_000_000_000, 1_100_000_000, size=len(user)).astype(np.float64)
    inter = pd.DataFrame({"user": user.astype(str), "item": item.astype(str),
                          "rating": np.ones(len(user)), "timestamp": ts})
    users = pd.DataFrame({"group": [f"g{g}" for g in range(cfg.n_groups)]}).iloc[group]
    users.index = np.arange(cfg.n_users).astype(str)
    genre = np.argmax(items[:, : cfg.n_genres], axis=1)
    items_df = pd.DataFrame({"genre": np.char.add("genre", genre.astype(str))},
                            index=np.arange(cfg.n_items).astype(str))
    return RawData(inter, users, items_df, None, ("synthetic",))
