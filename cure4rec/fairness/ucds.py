"""In-UCDS (MM'23): user constrained dominant sets and the fairness regulariser built on them.

Advantaged users are the top `fraction` of train users by degree (ties by index). For each
disadvantaged user t, the graph over V = {t} ∪ advantaged has common-item counts of the
*train set only* as affinities (the public code also counted valid and test items: leakage we
do not copy), min-max normalised per t with a zero diagonal. The constrained dominant set
of t maximises xᵀ(A − αÎ_S)x on the simplex, S = {t}, Î_S = diag(0 at t, 1 elsewhere).

Modes:
- ``paper-faithful``: α = coef · λ_max(A restricted to the advantaged users) (true largest
  eigenvalue), B shifted by +α (a constant on the simplex, so the maximisers are unchanged)
  to be non-negative, simplex replicator dynamics from the barycentre until the largest change
  is below `tol` (1e-6; `max_iter` 50000 is a cap, reached only with a warning: ML-100K
  needs ≈ 11.7k iterations, `DominantSets.residual` / `converged` record it); the set is the support (x_v > `support_tol`) without t,
  cut to its `neighbors` (3, the paper's neighbor_num) heaviest members (0 keeps the whole
  support), weighted by x_v normalised to sum 1. Why the cut: with α > λ_max the penalty
  −α‖x_adv‖² spreads the mass, and on ML-100K the support is *all* 47 advantaged users with
  near-uniform weights (median max weight 0.029 ≈ 1/47) for every t, so the regulariser would
  pull every disadvantaged user toward the same advantaged centroid.
- ``code-faithful``: the public code's choices: α = coef · 1e-3 (its trace-for-eigenvalue bug),
  start x = 1e-6 with x_t = 1, `code_iters` (5) L2-normalised iterations x ← x ⊙ Bx,
  the top `neighbors` (3) advantaged users, each pair with weight 1 (unweighted).
`pair_weights` (None = the mode's own: "user" for paper-faithful, "unit" for code-faithful)
can swap the normalisation in either mode, so the two modes can be compared at equal pull.

Every disadvantaged user is solved at once: a `[n_dis, 1 + n_adv]` batch of replicator
dynamics whose advantaged-advantaged block is shared; no loop over users.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from cure4rec.config import config_from_dict
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.fairness.embeddings import user_rows
from cure4rec.metrics.fairness import activity_groups

UcdsMode = Literal["paper-faithful", "code-faithful"]
MODES: tuple[str, ...] = ("paper-faithful", "code-faithful")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UcdsConfig:
    """How dominant sets are computed (see the module docstring for the two modes)."""

    mode: str = "paper-faithful"
    fraction: float = 0.05
    alpha_coef: float = 1.1
    tol: float = 1e-6
    max_iter: int = 50000
    support_tol: float = 1e-5
    code_iters: int = 5
    neighbors: int = 3
    pair_weights: str | None = None

    def __post_init__(self) -> None:
        if self.pair_weights not in (None, "user", "unit"):
            raise ConfigError(f"pair_weights must be 'user' or 'unit', got {self.pair_weights!r}")
        if self.mode not in MODES:
            raise ConfigError(f"unknown UCDS mode {self.mode!r}; use one of {', '.join(MODES)}")
        if not 0 < self.fraction < 1:
            raise ConfigError(f"fraction must be in (0, 1), got {self.fraction}")
        if self.alpha_coef <= 1.0 and self.mode == "paper-faithful":
            raise ConfigError(f"alpha_coef must exceed 1 (α > λ_max), got {self.alpha_coef}")


@dataclass(frozen=True)
class DominantSets:
    """Dominant-set weights: row r is user `users[r]`, column c is user `advantaged[c]`."""

    users: np.ndarray
    advantaged: np.ndarray
    weights: np.ndarray
    alpha: np.ndarray
    iterations: int
    #: largest |Δx| of the last replicator iteration (paper-faithful; the code-faithful loop's
    #: last L2 step), and whether it fell below `tol` before `max_iter`
    residual: float = float("nan")
    converged: bool = False

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t, v, w) for every pair with a non-zero weight."""
        r, c = np.nonzero(self.weights)
        return self.users[r], self.advantaged[c], self.weights[r, c]


def _blocks(train: Interactions, adv: np.ndarray, dis: np.ndarray
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Common-item counts: disadvantaged x advantaged and advantaged x advantaged (zero diag)."""
    x = train.csr()
    xa = x[adv]
    s_da = torch.from_numpy((x[dis] @ xa.T).toarray()).double()
    s_aa = torch.from_numpy((xa @ xa.T).toarray()).double()
    s_aa.fill_diagonal_(0.0)
    return s_da, s_aa


def dominant_sets(train: Interactions, config: UcdsConfig | None = None) -> DominantSets:
    """The constrained dominant set of every disadvantaged user of `train`."""
    cfg = config or UcdsConfig()
    active = activity_groups(train, cfg.fraction)
    adv = np.flatnonzero(active)
    dis = np.flatnonzero(~active & (train.user_degree() > 0))
    s_da, s_aa = _blocks(train, adv, dis)
    # min-max over each t's matrix: the min is 0 (zero diagonal), the max the largest count
    scale = torch.maximum(s_da.max(1, keepdim=True).values if len(adv) else
                          torch.zeros(len(dis), 1, dtype=torch.float64),
                          s_aa.max() if len(adv) else torch.tensor(0.0)).clamp_min(1.0)
    if cfg.mode == "paper-faithful":
        lam = float(torch.linalg.eigvalsh(s_aa).max()) if len(adv) else 0.0
        alpha = cfg.alpha_coef * lam / scale
        x, it, res = _replicator(s_da, s_aa, scale, alpha, cfg)
        w = x[:, 1:] * (x[:, 1:] > cfg.support_tol)
        if cfg.neighbors > 0:   # the support is nearly all advantaged users: keep the top ones
            w = w * _top_neighbors(w, min(cfg.neighbors, len(adv)))
        w = w / w.sum(1, keepdim=True).clamp_min(1e-300)
        if cfg.pair_weights == "unit":
            w = (w > 0).to(w.dtype)  # the public code's weight 1 per pair
    else:
        alpha = torch.full_like(scale, cfg.alpha_coef * 1e-3)
        x, it, res = _code_iterations(s_da, s_aa, scale, alpha, cfg)
        w = _top_neighbors(x[:, 1:], min(cfg.neighbors, len(adv)))
        if cfg.pair_weights == "user":
            w = w / w.sum(1, keepdim=True).clamp_min(1e-300)
    return DominantSets(dis, adv, w.numpy(), alpha.flatten().numpy(), it, res,
                        res < cfg.tol)


def _bx(x: torch.Tensor, s: torch.Tensor, s_aa: torch.Tensor, scale: torch.Tensor,
        alpha: torch.Tensor, shift: bool) -> torch.Tensor:
    """Bx for every row, B = A_t − αÎ_S (+ α11ᵀ if `shift`), A_t = raw counts / scale_t."""
    x0, xa = x[:, :1], x[:, 1:]
    g0 = (s * xa).sum(1, keepdim=True) / scale
    ga = (s * x0 + xa @ s_aa) / scale - alpha * xa
    g = torch.cat([g0, ga], dim=1)
    return g + alpha * x.sum(1, keepdim=True) if shift else g


def _replicator(s: torch.Tensor, s_aa: torch.Tensor, scale: torch.Tensor, alpha: torch.Tensor,
                cfg: UcdsConfig) -> tuple[torch.Tensor, int, float]:
    """Simplex replicator dynamics x ← x ⊙ Bx / xᵀBx from the barycentre, all rows at once;
    returns (x, iterations, the last iteration's largest |Δx|)."""
    x = torch.full((s.shape[0], s.shape[1] + 1), 1.0 / (s.shape[1] + 1), dtype=s.dtype)
    delta = float("inf")
    for it in range(1, cfg.max_iter + 1):
        g = _bx(x, s, s_aa, scale, alpha, shift=True)
        new = x * g / (x * g).sum(1, keepdim=True).clamp_min(1e-300)
        delta = float((new - x).abs().max()) if x.numel() else 0.0
        x = new
        if delta < cfg.tol:
            return x, it, delta
    logger.warning("replicator dynamics stopped at max_iter=%d, not converged (last change "
                   "%.2e > tol %.1e)", cfg.max_iter, delta, cfg.tol)
    return x, cfg.max_iter, delta


def _code_iterations(s: torch.Tensor, s_aa: torch.Tensor, scale: torch.Tensor,
                     alpha: torch.Tensor, cfg: UcdsConfig) -> tuple[torch.Tensor, int, float]:
    """The public code's loop: L2-normalised x ← x ⊙ Bx, rows frozen once converged;
    returns (x, iterations, the largest L2 step of the rows still live at the end)."""
    x = torch.full((s.shape[0], s.shape[1] + 1), 1e-6, dtype=s.dtype)
    x[:, 0] = 1.0
    live = torch.ones(len(x), dtype=torch.bool)
    last = 0.0
    for _ in range(cfg.code_iters):
        new = x * _bx(x, s, s_aa, scale, alpha, shift=False)
        new = new / new.norm(dim=1, keepdim=True).clamp_min(1e-300)
        step = (new - x).norm(dim=1)
        last = float(step[live].max()) if bool(live.any()) else 0.0
        x = torch.where(live.unsqueeze(1), new, x)
        live &= step >= cfg.tol
    return x, cfg.code_iters, last


def _top_neighbors(xa: torch.Tensor, k: int) -> torch.Tensor:
    """Weight 1 on each row's `k` largest entries (ties: lower column first)."""
    order = np.argsort(-xa.numpy(), axis=1, kind="stable")[:, :k]
    w = torch.zeros_like(xa)
    w.scatter_(1, torch.from_numpy(order), 1.0)
    return w


# ---------------------------------------------------------------------- the regulariser
class UcdsRegularizer:
    """λ Σ_{(t,v)} w_tv ‖e_t − sg(e_v)‖² over the disadvantaged users of the batch (or all).

    ``scope="batch"`` (default) uses the pairs whose t is among the batch's (unique) users;
    ``scope="all"`` adds every pair to every batch, as the public In-UCDS code does.
    e is the model's trainable user representation (`cure4rec.fairness.embeddings.user_rows`).
    """

    def __init__(self, sets: DominantSets, n_users: int, weight: float, scope: str) -> None:
        t, v, w = sets.pairs()
        self.t, self.v = torch.from_numpy(t), torch.from_numpy(v)
        self.w = torch.from_numpy(w).float()
        self.weight, self.scope, self.n_users = weight, scope, n_users
        self.sets = sets

    def __call__(self, model: Any, batch: Any) -> torch.Tensor:
        t, v, w = self.t, self.v, self.w
        if self.scope == "batch":
            in_batch = torch.zeros(self.n_users, dtype=torch.bool)
            in_batch[batch.users.detach().cpu().long()] = True
            keep = in_batch[t]
            t, v, w = t[keep], v[keep], w[keep]
        e_t = user_rows(model, t)
        if len(t) == 0:
            return e_t.sum() * 0.0
        e_v = user_rows(model, v).detach()
        return self.weight * (w.to(e_t) * (e_t - e_v).pow(2).sum(1)).sum()


@dataclass(frozen=True)
class UcdsRegularizerFactory:
    """A `RegularizerFactory`: builds the UCDS regulariser from the train set it is given."""

    config: UcdsConfig
    weight: float = 1e-5
    scope: str = "batch"

    @property
    def name(self) -> str:
        return f"ucds({self.config.mode}, weight={self.weight}, scope={self.scope})"

    def __call__(self, train: Interactions, ctx: RunContext) -> UcdsRegularizer:
        sets = dominant_sets(train, self.config)
        logger.info("UCDS %s: %d disadvantaged users, %d advantaged, %d pairs, %d iterations",
                    self.config.mode, len(sets.users), len(sets.advantaged),
                    int(np.count_nonzero(sets.weights)), sets.iterations)
        return UcdsRegularizer(sets, train.n_users, self.weight, self.scope)


def ucds_regularizer(mode: str = "paper-faithful", weight: float = 1e-5, scope: str = "batch",
                     **config: Any) -> UcdsRegularizerFactory:
    """A factory `(train, ctx) -> regulariser` for `fit(..., regularizers=[...])` / methods."""
    if scope not in ("batch", "all"):
        raise ConfigError(f"scope must be 'batch' or 'all', got {scope!r}")
    if weight < 0:
        raise ConfigError(f"weight must be >= 0, got {weight}")
    cfg = config_from_dict(UcdsConfig, {"mode": mode, **config},
                           where="ucds_regularizer (besides weight, scope)")
    return UcdsRegularizerFactory(cfg, weight, scope)
