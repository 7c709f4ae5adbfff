"""Full-ranking utility metrics: NDCG, Recall, HR, Precision, MRR at k, per user.

Each user's ranking covers every item not in their `history` (the evaluator passes the
train and validation items, the same for every model of a section). Users without test items
are skipped. Tied scores are ordered by a fixed, seeded random permutation of the items
(`tie_order`), never by item index: an all-zero row (an ALS user who never trained) would
otherwise rank items 0, 1, 2, ... — which track popularity in most datasets — and score far
above chance. The order is the same on every run, so results never depend on `torch.topk`'s
unspecified tie order either. Computation runs in user batches, so memory is bounded by `batch_users × n_items`
whatever the catalogue size.

Modes:
- ``standard`` (default): NDCG@k = DCG@k / IDCG@k with IDCG truncated at min(|T_u|, k);
  Recall@k = hits/|T_u|; HR@k = 1[hits > 0]; Precision@k = hits/k; MRR@k = 1/rank of the
  first hit within k (0 if none).
- ``cure4rec-compat``: the public CURE4Rec code's semantics, for like-for-like comparison
  with its published tables: IDCG over all |T_u| test items (not truncated at k), and the
  value it reports as "HR" is Recall (so ``hr@k`` holds Recall@k in this mode).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.batching import users_per_batch

Mode = Literal["standard", "cure4rec-compat"]
MODES: tuple[str, ...] = ("standard", "cure4rec-compat")
METRICS: tuple[str, ...] = ("ndcg", "recall", "hr", "precision", "mrr")
HIGHER_IS_BETTER = {m: True for m in METRICS}

ScoreFn = Callable[[np.ndarray], torch.Tensor]


@dataclass
class RankingResult:
    """Per-user metric arrays (aligned with `users`) and their means."""

    users: np.ndarray
    per_user: dict[str, np.ndarray] = field(default_factory=dict)
    mode: str = "standard"
    ks: tuple[int, ...] = (10, 20)

    def mean(self, metric: str) -> float:
        """Mean over evaluated users (NaN when there are none)."""
        v = self.per_user[metric]
        return float(v.mean()) if len(v) else float("nan")

    def means(self) -> dict[str, float]:
        """Every metric's mean, keyed like `ndcg@20`."""
        return {k: self.mean(k) for k in sorted(self.per_user)}

    def restrict(self, users: np.ndarray) -> RankingResult:
        """The same metrics for the subset of evaluated users that is in `users`."""
        keep = np.isin(self.users, users)
        return RankingResult(self.users[keep], {k: v[keep] for k, v in self.per_user.items()},
                             self.mode, self.ks)


def _score_fn(model: object) -> ScoreFn:
    if callable(getattr(model, "score", None)):
        return model.score  # type: ignore[attr-defined, no-any-return]
    if callable(model):
        return model  # type: ignore[return-value]
    raise TypeError("expected a Recommender or a callable users -> scores")


def _masked_scores(score: ScoreFn, users: np.ndarray, history: sp.csr_matrix | None
                   ) -> torch.Tensor:
    s = score(users).detach().to("cpu", torch.float32).clone()
    if history is not None:
        sub = history[users]
        rows = np.repeat(np.arange(len(users)), np.diff(sub.indptr))
        s[torch.from_numpy(rows), torch.from_numpy(sub.indices.astype(np.int64))] = -torch.inf
    return s


TIE_SEED = 20240927


@functools.lru_cache(maxsize=8)
def tie_order(n_items: int) -> torch.Tensor:
    """The fixed random item permutation that breaks score ties (seeded by `n_items`)."""
    rng = np.random.default_rng(np.random.SeedSequence(TIE_SEED, spawn_key=(n_items,)))
    return torch.from_numpy(rng.permutation(n_items).astype(np.int64))


@functools.lru_cache(maxsize=8)
def _tie_position(n_items: int) -> torch.Tensor:
    """The inverse of `tie_order(n_items)`: each item's position in the tie order."""
    return torch.argsort(tie_order(n_items))


def ranked(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Top-`k` item indices per row; ties in the seeded random order of `tie_order`.

    Defined as a stable descending sort of the scores permuted by `tie_order`. Computed
    without sorting whole rows (a full sort was ~1.6 s of every ML-1M validation pass, more
    than a BPR epoch): `topk(k + 1)` finds each row's top-k set, which is unambiguous when
    the k-th and (k+1)-th scores differ; those k items are ordered by (score descending, tie
    position ascending) exactly as the full sort orders them. Rows with a tie across the
    k-th place take all items above it plus the tied items first in tie order; rows with a
    NaN take the full sort, so the result is the same in every case.
    """
    n = scores.shape[1]
    perm = tie_order(n)
    k = min(k, n)
    if (k == 0 or scores.shape[0] == 0 or 4 * k > n
            or scores.dtype not in (torch.float32, torch.float64)):
        return _ranked_full(scores, perm, k)
    vals, idx = torch.topk(scores, k + 1, dim=1)
    nan = torch.isnan(vals).any(dim=1)
    easy = (vals[:, k] < vals[:, k - 1]) & ~nan
    tie = ~easy & ~nan
    out = torch.empty((scores.shape[0], k), dtype=torch.long)
    tpos = _tie_position(n)
    if bool(easy.any()):
        rows = easy.nonzero().squeeze(1)
        _order_by_score(out, scores, rows, perm, tpos[idx[rows, :k]])
    if bool(tie.any()):
        # A tie across the k-th place (value v): the top-k are the < k items above v, then
        # the items equal to v with the lowest tie positions (found with one top-k of a key
        # per item, not a full sort; at ADM's 115k items WMF leaves many rows tied at 0).
        rows = tie.nonzero().squeeze(1)
        sub = scores[rows]
        v = vals[rows, k - 1].unsqueeze(1)
        kd = torch.float32 if n < 2**24 else torch.float64  # tie positions exact in kd
        key = torch.where(sub == v, tpos.to(kd).unsqueeze(0), float(n))
        key.masked_fill_(sub > v, -1.0)
        # the k smallest keys are one set: the < k items at -1, then distinct positions
        sel = torch.topk(key, k, dim=1, largest=False).indices
        _order_by_score(out, scores, rows, perm, tpos[sel])
    if bool(nan.any()):
        out[nan] = _ranked_full(scores[nan], perm, k)
    return out


def _order_by_score(out: torch.Tensor, scores: torch.Tensor, rows: torch.Tensor,
                    perm: torch.Tensor, pos: torch.Tensor) -> None:
    """out[rows] = the items at tie positions `pos` (each row's top-k set) ordered by score
    descending, ties by tie position ascending."""
    items = perm[pos.sort(dim=1).values]  # tie positions ascending, then a stable sort
    # k scores per row by index: `scores[rows]` would copy every row whole
    order = torch.sort(scores[rows.unsqueeze(1), items], dim=1, descending=True,
                       stable=True).indices
    out[rows] = items.gather(1, order)


def _ranked_full(scores: torch.Tensor, perm: torch.Tensor, k: int) -> torch.Tensor:
    """`ranked` by its definition: a stable descending sort of the permuted rows."""
    return perm[torch.sort(scores[:, perm], dim=1, descending=True, stable=True).indices[:, :k]]


def top_k(model: object, users: np.ndarray | Sequence[int], k: int,
          history: Interactions | None = None, batch_users: int = 1024) -> torch.Tensor:
    """The top-`k` item indices per user (history excluded), `LongTensor[len(users), k]`."""
    users = np.asarray(users, dtype=np.int64)
    score = _score_fn(model)
    hist = history.csr() if history is not None else None
    out = []
    batch_users = users_per_batch(batch_users)
    for start in range(0, len(users), batch_users):
        b = users[start:start + batch_users]
        out.append(ranked(_masked_scores(score, b, hist), k))
    return torch.cat(out) if out else torch.empty((0, k), dtype=torch.long)


def evaluate_ranking(model: object, history: Interactions | None, test: Interactions,
                     ks: Sequence[int] = (10, 20), mode: Mode = "standard",
                     users: np.ndarray | None = None, batch_users: int = 1024
                     ) -> RankingResult:
    """Metrics of `model` on `test`, ranking all items outside each user's `history`.

    `users` restricts evaluation to those users (still only those with test items).
    """
    if mode not in MODES:
        raise ConfigError(f"unknown metric mode {mode!r}; use one of {', '.join(MODES)}")
    ks = tuple(sorted(set(int(k) for k in ks)))
    if not ks or ks[0] < 1:
        raise ConfigError(f"cut-offs must be positive integers, got {ks}")
    truth = test.csr()
    n_test = np.diff(truth.indptr)
    cand = np.flatnonzero(n_test > 0)
    if users is not None:
        cand = np.intersect1d(cand, np.asarray(users, dtype=np.int64))
    score = _score_fn(model)
    hist = history.csr() if history is not None else None
    kmax = min(max(ks), test.n_items)
    parts: dict[str, list[np.ndarray]] = {f"{m}@{k}": [] for m in METRICS for k in ks}
    disc = 1.0 / np.log2(np.arange(2, kmax + 2))
    batch_users = users_per_batch(batch_users)
    for start in range(0, len(cand), batch_users):
        b = cand[start:start + batch_users]
        top = ranked(_masked_scores(score, b, hist), kmax).numpy()
        hits = _hits(truth[b], top)
        _accumulate(parts, hits, n_test[b], ks, disc, mode)
    per_user = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()}
    return RankingResult(cand, per_user, mode, ks)


def _hits(truth_rows: sp.csr_matrix, top: np.ndarray) -> np.ndarray:
    """hits[r, j] = 1 if the j-th recommended item of row r is a test item of that user."""
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    flat = np.asarray(truth_rows[rows, top.ravel()]).ravel()
    return flat.reshape(top.shape) > 0


def _accumulate(parts: dict[str, list[np.ndarray]], hits: np.ndarray, n_test: np.ndarray,
                ks: tuple[int, ...], disc: np.ndarray, mode: str) -> None:
    dcg_cum = np.cumsum(hits * disc[: hits.shape[1]], axis=1)
    hit_cum = np.cumsum(hits, axis=1)
    idcg_cum = np.cumsum(disc)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    for k in ks:
        kk = min(k, hits.shape[1])
        nh = hit_cum[:, kk - 1].astype(np.float64)
        if mode == "standard":
            idcg = idcg_cum[np.minimum(n_test, kk) - 1]
        else:  # untruncated IDCG over all test items, as the public CURE4Rec code
            idcg = _idcg_full(n_test)
        parts[f"ndcg@{k}"].append(dcg_cum[:, kk - 1] / idcg)
        recall = nh / n_test
        parts[f"recall@{k}"].append(recall)
        parts[f"hr@{k}"].append(recall if mode == "cure4rec-compat" else (nh > 0).astype(float))
        parts[f"precision@{k}"].append(nh / k)
        parts[f"mrr@{k}"].append(np.where((first > 0) & (first <= kk), 1.0 / np.maximum(first, 1),
                                          0.0))


def _idcg_full(n_test: np.ndarray) -> np.ndarray:
    table = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, n_test.max() + 2)))])
    return table[n_test]
