"""Retrain-referenced completeness: how far the unlearned model's outputs are from retraining.

With references r_0..r_{n-1} (n ≥ 2 retrain seeds), every distance is the mean over the
references, d̄(unlearned) = mean_j d(unlearned, r_j), divided by the seed noise, the mean
over all reference pairs d̄(seed) = mean_{a<b} d(r_a, r_b): a ratio of 1.0 means
"indistinguishable from retraining at seed-noise level", > 1 means further from retraining
than seed noise. Both sides are means of the same number of seed draws per term, so an
exact retrain with a fresh seed scores ≈ 1 in expectation; more references give a less
noisy denominator (n = 2 leaves a single pair). Similarities (top-k overlap, RBO) are
turned into distances 1 − sim first. Rankings exclude each user's `history` (the retained
train set). Definitions (also in docs/metrics.md):

- top-k overlap |A∩B|/k of the two top-k lists;
- RBO with p = 0.9, *extrapolated* at depth k (Webber et al. 2010, eq. 32:
  X_k/k·p^k + (1−p)/p·Σ_{d≤k} X_d/d·p^d; identical lists give 1);
- JS divergence (natural log, in [0, ln 2]) of per-user softmax(z/τ) over the candidate
  items, z = the user's scores standardised over the candidates (scale-free across models);
- forgotten-item rank: percentile of each forgotten (u, i) among all items
  (1 = top, 0 = bottom; lower = more forgotten); its distance is the Wasserstein-1
  distance between the two models' distributions of these percentiles (distributional, not
  pairwise: for a deleted user the retrained row is untrained noise, so pairwise
  differences are large between any two seeds). That W1 swings widely between retrain
  seed pairs, so its ratio is noisy; `rank_lift` (share of the original's lift of the
  mean percentile that remains, 0 = as retrained, 1 = as the original) is the stable
  reading of the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.stats import wasserstein_distance

from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.batching import users_per_batch
from cure4rec.metrics.calibrated import forget_percentiles
from cure4rec.metrics.memo import PassMemo, memo_or_new
from cure4rec.metrics.ranking import _masked_scores, ranked

EPS = 1e-12
GROUPS = ("forgotten", "neighbours", "rest")


@dataclass(frozen=True)
class UserGroups:
    """Forgotten users, their 1-hop neighbours and a sample of the other users."""

    forgotten: np.ndarray
    neighbours: np.ndarray
    rest: np.ndarray

    def items(self) -> list[tuple[str, np.ndarray]]:
        """(name, users) pairs in GROUPS order."""
        return [(g, getattr(self, g)) for g in GROUPS]


def user_groups(retain: Interactions, forget: Interactions, forgotten_users: np.ndarray,
                rng: np.random.Generator, max_users: int = 500) -> UserGroups:
    """Split the users into forgotten / neighbours / rest.

    Neighbours are retained users (not forgotten) with ≥1 retained train item in the forget
    set's items (1 hop in the user–item–user graph); when there are more than `max_users`,
    the `max_users` with the largest co-occurrence Σ_{i∈I_v} |forget rows on i| are kept
    (ties: lower index). Rest: ≤ `max_users` of the remaining retained users, sampled.
    """
    forgotten = np.unique(np.asarray(forgotten_users, dtype=np.int64))
    weight = np.bincount(forget.item, minlength=forget.n_items).astype(np.float64)
    co = np.asarray(retain.csr() @ weight).ravel()
    co[forgotten] = 0.0
    cand = np.flatnonzero(co > 0)
    order = cand[np.lexsort((cand, -co[cand]))]
    neighbours = np.sort(order[:max_users])
    others = np.setdiff1d(retain.active_users(), np.concatenate([forgotten, cand]))
    rest = np.sort(rng.choice(others, size=min(max_users, len(others)), replace=False))
    return UserGroups(forgotten, neighbours, rest)


def _masked(model: object, users: np.ndarray, hist: sp.csr_matrix | None) -> torch.Tensor:
    """The users' float32 CPU scores with their `hist` items at −inf (as for utility)."""
    return _masked_scores(model.score, users, hist)  # type: ignore[attr-defined]


def overlap_and_rbo(a: torch.Tensor, b: torch.Tensor, p: float = 0.9
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-row top-k overlap |A∩B|/k and extrapolated RBO of two `[n, k]` item lists."""
    k = a.shape[1]
    match = (a[:, :, None] == b[:, None, :]).to(torch.float64)
    x = match.cumsum(1).cumsum(2).diagonal(dim1=1, dim2=2)  # X_d = |A_{:d} ∩ B_{:d}|
    d = torch.arange(1, k + 1, dtype=torch.float64)
    agree = x / d
    rbo = agree[:, -1] * p**k + (1 - p) / p * (agree * p**d).sum(1)
    return (x[:, -1] / k).numpy(), rbo.numpy()


def _log_softmax_std(s: torch.Tensor, tau: float) -> torch.Tensor:
    """log softmax(z/τ) per row, z = the row's finite scores standardised (−inf elsewhere)."""
    s = s.to(torch.float64)
    fin = torch.isfinite(s)
    z = torch.where(fin, s, torch.zeros_like(s))
    n = fin.sum(1, keepdim=True).clamp(min=1)
    mu = z.sum(1, keepdim=True) / n
    sd = (((z - mu) ** 2) * fin).sum(1, keepdim=True).div(n).sqrt().clamp(min=EPS)
    z = torch.where(fin, (z - mu) / sd / tau, torch.full_like(s, -torch.inf))
    return torch.log_softmax(z, dim=1)


def _js(lp: torch.Tensor, p: torch.Tensor, lq: torch.Tensor, q: torch.Tensor) -> np.ndarray:
    """Per-row JS divergence of two distributions given as (log p, p), (log q, q)."""
    lm = torch.log((p + q) / 2 + EPS)
    kl = (lambda pp, lpp: torch.where(pp > 0, pp * (lpp - lm), torch.zeros_like(pp)).sum(1))
    return (0.5 * kl(p, lp) + 0.5 * kl(q, lq)).clamp(min=0).numpy()


def js_divergence(s1: torch.Tensor, s2: torch.Tensor, tau: float = 1.0) -> np.ndarray:
    """Per-row JS divergence of softmax(z/τ), z = row-standardised finite scores."""
    lp, lq = _log_softmax_std(s1, tau), _log_softmax_std(s2, tau)
    return _js(lp, lp.exp(), lq, lq.exp())


def pair_percentiles(model: object, pairs: Interactions, batch_users: int = 512) -> np.ndarray:
    """Mid-rank percentile of each (u, i) among all items under `model` (1 = top), in pair
    order: `cure4rec.metrics.calibrated.forget_percentiles` without a history."""
    return forget_percentiles(model, pairs, None, batch_users)


@dataclass
class GroupDistances:
    """Per-user distances of one user group: unlearned vs references and reference pairs.

    `unlearned[name]` is mean_j d(unlearned, r_j); `seed[name]` is mean_{a<b} d(r_a, r_b).
    """

    users: np.ndarray
    unlearned: dict[str, np.ndarray]
    seed: dict[str, np.ndarray]

    def ratio(self, name: str) -> float:
        """mean d̄(unlearned) / mean d̄(seed) (NaN without users; inf if only seeds agree)."""
        if len(self.users) == 0:
            return float("nan")
        return _ratio(float(self.unlearned[name].mean()), float(self.seed[name].mean()))


# Bytes of float64 softmax rows (log p and p of every model of a batch) held at once by
# `group_distances`. Every operation is per row, so the chunk size changes no value (tested
# bit for bit); small chunks stay in cache: at ADM's 115k items, 9 models x 128 users took
# 9.9 s at 16 MB, 10.3 s at 32 MB, 19.6 s at 256 MB (and 206 s pair by pair, round 10).
JS_ROW_BYTES = 2**25


def _batch_distances(models: Sequence[object], pairs: Sequence[tuple[int, int]],
                     users: np.ndarray, hist: sp.csr_matrix | None, k: int, p: float,
                     tau: float) -> list[dict[str, np.ndarray]]:
    """Distances (1−overlap, 1−RBO, JS) of `users` for each pair (x, y) of `models`.

    Each model is scored, masked, ranked and standardised once per batch, not once per pair
    it takes part in (9 models, 36 pairs: 9 instead of 72 full-catalogue passes); the values
    are those of the pairwise definition (`overlap_and_rbo`, `js_divergence`), bit for bit.
    """
    scores = [_masked(m, users, hist) for m in models]
    n_items = scores[0].shape[1]
    kk = min(k, n_items)
    tops = [ranked(sc, kk) for sc in scores]
    rows = max(1, JS_ROW_BYTES // max(1, 16 * len(models) * n_items))
    js: list[list[np.ndarray]] = [[] for _ in pairs]
    for c in range(0, len(users), rows):
        lps = [_log_softmax_std(sc[c:c + rows], tau) for sc in scores]
        ps = [lp.exp() for lp in lps]
        for j, (x, y) in enumerate(pairs):
            js[j].append(_js(lps[x], ps[x], lps[y], ps[y]))
    out = []
    for j, (x, y) in enumerate(pairs):
        ov, rbo = overlap_and_rbo(tops[x], tops[y], p)
        out.append({"topk_overlap": 1 - ov, "rbo": 1 - rbo,
                    "js": np.concatenate(js[j]) if js[j] else np.zeros(0)})
    return out


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(n) for b in range(a + 1, n)]


def group_distances(unlearned: object, references: Sequence[object], users: np.ndarray,
                    history: Interactions | None, k: int = 20, p: float = 0.9,
                    tau: float = 1.0, batch_users: int = 512,
                    cache: dict[Any, Any] | None = None) -> GroupDistances:
    """Distances (1−overlap, 1−RBO, JS) of `users`: mean over references and over pairs.

    The reference-pair part depends on the references and users only: with `cache` (a dict
    reused across the methods of a group) it is computed once.
    """
    if len(references) < 2:
        raise ConfigError("completeness needs ≥2 retrained reference models (two seeds)")
    hist = history.csr() if history is not None else None
    names = ("topk_overlap", "rbo", "js")
    users = np.asarray(users)
    key = ("seed-distances", tuple(id(r) for r in references), users.tobytes(), k, p, tau,
           id(history))
    cat = (lambda ds: {n: np.concatenate([d[n] for d in ds]) if ds else np.zeros(0)
                       for n in names})
    seed = cache[key][1] if cache is not None and key in cache else None
    parts: dict[str, list[dict[str, np.ndarray]]] = {"u": [], "s": []}
    batch_users = users_per_batch(batch_users)
    for start in range(0, len(users), batch_users):
        b = users[start:start + batch_users]
        r = len(references)
        pairs = [(0, j + 1) for j in range(r)]  # (unlearned, reference j)
        if seed is None:
            pairs += [(x + 1, y + 1) for x, y in _pairs(r)]  # (reference a, reference b)
        ds = _batch_distances([unlearned, *references], pairs, b, hist, k, p, tau)
        dus, dss = ds[:r], ds[r:]
        parts["u"].append({n: np.mean([d[n] for d in dus], axis=0) for n in names})
        if seed is None:
            parts["s"].append({n: np.mean([d[n] for d in dss], axis=0) for n in names})
    if seed is None:
        seed = cat(parts["s"])
        if cache is not None:  # the entry holds the references and history: ids stay valid
            cache[key] = ((tuple(references), history), seed)
    return GroupDistances(users, cat(parts["u"]), seed)


def forgotten_rank(unlearned: object, references: Sequence[object], forget: Interactions,
                   original: object | None = None, memo: PassMemo | None = None
                   ) -> dict[str, float]:
    """Mean percentile of the forgotten pairs per model and the retrain-normalised distance.

    Ratio = mean_j W1(unlearned, r_j) / mean_{a<b} W1(r_a, r_b) over the distributions of
    the forgotten pairs' percentiles; `forgotten_rank.retrain` is the references' mean.
    """
    memo = memo_or_new(memo)

    def pct(m: object) -> np.ndarray:
        return memo.get("forgotten-rank", m, lambda: pair_percentiles(m, forget))

    pu = pct(unlearned)
    pr = [pct(m) for m in references]
    num = float(np.mean([wasserstein_distance(pu, q) for q in pr]))
    den = float(np.mean([wasserstein_distance(pr[a], pr[b]) for a, b in _pairs(len(pr))]))
    out = {"forgotten_rank": float(pu.mean()),
           "forgotten_rank.retrain": float(np.mean([q.mean() for q in pr])),
           "forgotten_rank_ratio": _ratio(num, den)}
    if original is not None:
        po = float(pct(original).mean())
        out["forgotten_rank.original"] = po
        out.update(rank_lift(float(pu.mean()), [float(q.mean()) for q in pr], po))
    return out


def rank_lift(unlearned: float, references: Sequence[float], original: float,
              min_lift: float = 0.01) -> dict[str, float]:
    """Share of the original's lift of the forgotten pairs' mean percentile that remains.

    lift = (p̄_unlearned − p̄_ref) / (p̄_original − p̄_ref), p̄_ref the references' mean: 0 = as
    retrained, 1 = as the original (nothing forgotten), < 0 = pushed below retraining. The
    denominator is the training signal itself, not seed noise, so it is stable where the
    W1 ratio is not; `.seed` is the references' standard deviation in the same units (the
    noise floor of |lift|). NaN when the original lifts the pairs by < `min_lift` (nothing
    to forget: a ratio of noise).
    """
    ref = float(np.mean(references))
    den = original - ref
    if abs(den) < min_lift:
        return {"forgotten_rank_lift": float("nan"), "forgotten_rank_lift.seed": float("nan")}
    sd = float(np.std(references, ddof=1)) if len(references) > 1 else float("nan")
    return {"forgotten_rank_lift": (unlearned - ref) / den,
            "forgotten_rank_lift.seed": sd / abs(den)}


def _ratio(num: float, den: float) -> float:
    """num / den; 1.0 when both vanish (e.g. identical constant rows), inf when only den does."""
    if den > EPS:
        return num / den
    return 1.0 if num <= EPS else float("inf")


def _raw(d: np.ndarray, dist: str) -> float:
    """The group mean as reported: JS as a divergence, overlap / RBO back as similarities."""
    if len(d) == 0:
        return float("nan")
    return float(d.mean()) if dist == "js" else 1.0 - float(d.mean())


def completeness_metrics(unlearned: object, references: Sequence[object], groups: UserGroups,
                         retain: Interactions, forget: Interactions, k: int = 20,
                         p: float = 0.9, tau: float = 1.0, original: object | None = None,
                         cache: dict[Any, Any] | None = None, memo: PassMemo | None = None
                         ) -> tuple[dict[str, float], dict[str, GroupDistances]]:
    """The retrain-referenced diagnostics (keys without the aspect prefix; not the headline,
    which is `cure4rec.metrics.calibrated`)."""
    out: dict[str, float] = {}
    per_group: dict[str, GroupDistances] = {}
    for name, users in groups.items():
        gd = group_distances(unlearned, references, users, retain, k, p, tau, cache=cache)
        per_group[name] = gd
        for dist in ("topk_overlap", "rbo", "js"):
            out[f"{dist}_ratio.{name}"] = gd.ratio(dist)
            out[f"{dist}.{name}"] = _raw(gd.unlearned[dist], dist)
            out[f"{dist}.seed.{name}"] = _raw(gd.seed[dist], dist)
    out.update(forgotten_rank(unlearned, references, forget, original, memo))
    return out, per_group
