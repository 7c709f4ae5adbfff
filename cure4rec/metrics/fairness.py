"""User-group fairness of per-user utility: A-IGF, UGF, Wasserstein-1, shardGF, bootstrap CIs.

Groups are a boolean mask over user indices (True = the advantaged group: the active users,
or one attribute value). Definitions (per-user metric M, e.g. NDCG@20, from a RankingResult):

- A-IGF = mean_{u∈A} M(u) − mean_{u∈D} M(u)  (signed; positive when the advantaged group is
  served better; no direction, rank by UGF);
- UGF = |A-IGF|  (lower is better);
- W1 = Wasserstein-1 distance between the two groups' per-user M distributions
  (`scipy.stats.wasserstein_distance`; W1 ≥ UGF; lower is better);
- shardGF = population variance over shards of the shards' mean per-user M (lower is better);
- bootstrap: percentile intervals, users resampled with replacement *within* each group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.ranking import RankingResult

#: True when higher is better, False when lower is better, None when signed (no direction).
HIGHER_IS_BETTER: dict[str, bool | None] = {"a-igf": None, "ugf": False, "w1": False,
                                             "shardgf": False}


def activity_groups(train: Interactions, fraction: float = 0.05) -> np.ndarray:
    """Active-user mask: the top `fraction` of users with interactions by degree (ties: index)."""
    deg = train.user_degree()
    n = int(np.count_nonzero(deg))
    n_active = max(1, int(n * fraction)) if n else 0
    order = np.lexsort((np.arange(len(deg)), -deg))
    mask = np.zeros(len(deg), dtype=bool)
    mask[order[:n_active]] = True
    return mask


def attribute_groups(data: Interactions, attribute: str, value: str) -> np.ndarray:
    """Mask of users whose `attribute` equals `value` (missing values are False)."""
    if data.user_attributes is None or attribute not in data.user_attributes.columns:
        raise ConfigError(f"user attribute {attribute!r} not available")
    col = data.user_attributes[attribute]
    return (col.astype("string") == value).fillna(False).to_numpy(dtype=bool)


def _split(result: RankingResult, group: np.ndarray, metric: str
           ) -> tuple[np.ndarray, np.ndarray]:
    if metric not in result.per_user:
        raise ConfigError(f"metric {metric!r} not evaluated; have {', '.join(result.per_user)}")
    in_a = np.asarray(group, dtype=bool)[result.users]
    v = result.per_user[metric]
    return v[in_a], v[~in_a]


def _gap(a: np.ndarray, d: np.ndarray) -> float:
    return float(a.mean() - d.mean()) if len(a) and len(d) else float("nan")


def _w1(a: np.ndarray, d: np.ndarray) -> float:
    return float(wasserstein_distance(a, d)) if len(a) and len(d) else float("nan")


def a_igf(result: RankingResult, group: np.ndarray, metric: str = "ndcg@20") -> float:
    """Signed gap mean M(advantaged) − mean M(disadvantaged)."""
    return _gap(*_split(result, group, metric))


def ugf(result: RankingResult, group: np.ndarray, metric: str = "ndcg@20") -> float:
    """User-oriented group unfairness |A-IGF| (lower is better)."""
    return abs(a_igf(result, group, metric))


def wasserstein_gap(result: RankingResult, group: np.ndarray, metric: str = "ndcg@20") -> float:
    """Wasserstein-1 distance between the groups' per-user metric distributions."""
    return _w1(*_split(result, group, metric))


def shard_gf(per_user: np.ndarray, shard: np.ndarray) -> float:
    """Population variance over shards of each shard's mean per-user metric."""
    per_user, shard = np.asarray(per_user, dtype=float), np.asarray(shard)
    if per_user.shape != shard.shape:
        raise ConfigError(f"per_user and shard differ in shape: {per_user.shape} vs {shard.shape}")
    ids, inv = np.unique(shard, return_inverse=True)
    means = np.bincount(inv, weights=per_user) / np.bincount(inv)
    return float(np.var(means)) if len(ids) else float("nan")


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap confidence interval."""

    value: float
    low: float
    high: float


STATS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "a-igf": _gap, "ugf": lambda a, d: abs(_gap(a, d)), "w1": _w1}


def _resample(x: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    return x[rng.integers(0, len(x), size=(n_boot, len(x)))] if len(x) else x[None, :]


def bootstrap_fairness(result: RankingResult, group: np.ndarray, ctx: RunContext,
                       metric: str = "ndcg@20", n_boot: int = 1000, level: float = 0.95
                       ) -> dict[str, Interval]:
    """A-IGF, UGF and W1 with percentile CIs (users resampled within groups; seed from ctx)."""
    a, d = _split(result, group, metric)
    rng = ctx.child("fairness-bootstrap").rng()
    ra, rd = _resample(a, rng, n_boot), _resample(d, rng, n_boot)
    gaps = ra.mean(1) - rd.mean(1) if len(a) and len(d) else np.full(n_boot, np.nan)
    w1s = np.array([_w1(x, y) for x, y in zip(ra, rd)])  # scipy's W1 is 1-D only
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    boots = {"a-igf": gaps, "ugf": np.abs(gaps), "w1": w1s}
    return {k: Interval(STATS[k](a, d), *map(float, np.percentile(v, [lo, hi])))
            for k, v in boots.items()}


def fairness_report(result: RankingResult, group: np.ndarray, metric: str = "ndcg@20"
                    ) -> dict[str, float]:
    """A-IGF, UGF and W1 of `metric`, keyed `a-igf/ndcg@20` etc., plus each group's mean."""
    a, d = _split(result, group, metric)
    out = {f"{k}/{metric}": f(a, d) for k, f in STATS.items()}
    out[f"advantaged/{metric}"] = float(a.mean()) if len(a) else float("nan")
    out[f"disadvantaged/{metric}"] = float(d.mean()) if len(d) else float("nan")
    return out
