"""Shard partitioners: seeded random, balanced greedy k-means (RecEraser), balanced OT (UltraRE).

All are vectorised: distances are computed as one N x K matrix and the capacity-constrained
assignment runs in at most K+1 numpy rounds, never a Python loop over points.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from cure4rec.errors import ConfigError


def random_balanced(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Shard of each of `n` indices: a seeded permutation dealt round-robin (sizes differ by ≤1)."""
    _check_k(n, k)
    out = np.empty(n, dtype=np.int64)
    out[rng.permutation(n)] = np.arange(n) % k
    return out


def greedy_capacity(cost: np.ndarray, capacity: int) -> np.ndarray:
    """Nearest-first assignment of N points to K bins of at most `capacity` points each.

    Round-based form of RecEraser's greedy pass over sorted (point, centroid) pairs: each
    round, every unassigned point proposes its cheapest non-full bin; each bin accepts its
    cheapest proposers up to its remaining capacity. A round fills a bin or ends the pass,
    so there are at most K+1 rounds.
    """
    n, k = cost.shape
    if capacity * k < n:
        raise ConfigError(f"capacity {capacity} x {k} shards cannot hold {n} points")
    out = np.full(n, -1, dtype=np.int64)
    left = np.full(k, capacity, dtype=np.int64)
    todo = np.arange(n)
    while len(todo):
        c = np.where(left[None, :] > 0, cost[todo], np.inf)
        choice = c.argmin(1)
        val = c[np.arange(len(todo)), choice]
        order = np.lexsort((todo, val, choice))
        ch = choice[order]
        start = np.searchsorted(ch, np.arange(k))
        rank = np.arange(len(order)) - start[ch]
        ok = rank < left[ch]
        out[todo[order[ok]]] = ch[ok]
        left -= np.bincount(ch[ok], minlength=k)
        todo = np.sort(todo[order[~ok]])
    return out


def centroids(x: np.ndarray, labels: np.ndarray, k: int, old: np.ndarray) -> np.ndarray:
    """Mean of each shard's points over axis 0 (an empty shard keeps its old centroid)."""
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, labels, x)
    counts = np.bincount(labels, minlength=k)[:, None]
    return np.where(counts > 0, sums / np.maximum(counts, 1), old)


def sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances `[len(x), len(c)]`."""
    return np.maximum((x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :], 0.0)


def balanced_kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 30,
                    slack: float = 1.2, y: np.ndarray | None = None) -> np.ndarray:
    """RecEraser's balanced partition (UBP/IBP with `x`; InBP with pairs `(x, y)`).

    Seeded anchors, nearest-first greedy with capacity ceil(slack·N/K), centroid = mean over
    axis 0. The RecEraser release averages without `axis` and CURE4Rec's port sorts
    farthest-first (anti-clustering); both are bugs not reproduced here. For InBP the cost
    is ‖x−c_x‖²·‖y−c_y‖², as in the paper.
    """
    n = len(x)
    _check_k(n, k)
    cap = math.ceil(slack * n / k)
    anchor = rng.choice(n, k, replace=False)
    cx, cy = x[anchor].astype(np.float64), None if y is None else y[anchor].astype(np.float64)
    labels = np.full(n, -1)
    for _ in range(iters):
        cost = sq_dist(x, cx) if y is None or cy is None else sq_dist(x, cx) * sq_dist(y, cy)
        new = greedy_capacity(cost, cap)
        if np.array_equal(new, labels):
            break
        labels = new
        cx = centroids(x, labels, k, cx)
        if y is not None and cy is not None:
            cy = centroids(y, labels, k, cy)
    return labels


def sinkhorn_log(cost: np.ndarray, eps: float = 0.05, iters: int = 200) -> np.ndarray:
    """Entropic OT plan with uniform marginals 1/N, 1/K (log-domain Sinkhorn, torch float64)."""
    m = torch.as_tensor(cost, dtype=torch.float64)
    m = m / m.max().clamp_min(1e-12)
    n, k = m.shape
    log_a = torch.full((n,), -math.log(n), dtype=torch.float64)
    log_b = torch.full((k,), -math.log(k), dtype=torch.float64)
    f = torch.zeros(n, dtype=torch.float64)
    g = torch.zeros(k, dtype=torch.float64)
    for _ in range(iters):
        f = eps * (log_a - torch.logsumexp((g[None, :] - m) / eps, 1))
        g = eps * (log_b - torch.logsumexp((f[:, None] - m) / eps, 0))
    return torch.exp((f[:, None] + g[None, :] - m) / eps).numpy()


def ot_assign(cost: np.ndarray, solver: str = "sinkhorn", eps: float = 0.05) -> np.ndarray:
    """Balanced hard assignment (capacity ceil(N/K)) from an OT plan or an exact matching."""
    n, k = cost.shape
    cap = math.ceil(n / k)
    if solver == "exact":
        rows, cols = linear_sum_assignment(np.repeat(cost, cap, axis=1))
        out = np.empty(n, dtype=np.int64)
        out[rows] = cols // cap
        return out
    if solver != "sinkhorn":
        raise ConfigError(f"unknown OT solver {solver!r}; use 'sinkhorn' or 'exact'")
    return greedy_capacity(-sinkhorn_log(cost, eps), cap)


def ot_cluster(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 10,
               solver: str = "sinkhorn", eps: float = 0.05) -> np.ndarray:
    """UltraRE's balanced OT clustering: OT assignment, then centroid = mean, until stable."""
    _check_k(len(x), k)
    c = x[rng.choice(len(x), k, replace=False)].astype(np.float64)
    labels = np.full(len(x), -1)
    for _ in range(iters):
        new = ot_assign(sq_dist(x, c), solver, eps)
        if np.array_equal(new, labels):
            break
        labels = new
        c = centroids(x, labels, k, c)
    return labels


def mean_within_distance(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared distance of each point to its shard's centroid (lower = tighter shards)."""
    k = int(labels.max()) + 1
    c = centroids(x, labels, k, np.zeros((k, x.shape[1])))
    return float(((x - c[labels]) ** 2).sum(1).mean())


def _check_k(n: int, k: int) -> None:
    if not 1 <= k <= n:
        raise ConfigError(f"cannot split {n} points into {k} shards (need 1 <= shards <= {n})")
