"""In-UCDS (MM'23): user constrained dominant sets and the fairness regulariser built on them.

Advantaged users are the top `fraction` of train users by degree (ties by index). For each
disadvantaged user t, the graph over V = {t} ∪ advantaged has common-item counts of the
*train set only* as affinities (the public code also counted valid and test items: leakage we
do not copy), min-max normalised per t with a zero diagonal. The constrained dominant set
of t maximises xᵀ(A − αÎ_S)x on the simplex, S = {t}, Î_S = diag(0 at t, 1 elsewhere).

Modes:
- ``paper-faithful``: α = coef · λ_max(A restricted to the advantaged users) (true largest
  eigenvalue), B shifted by +α (a constant on the simplex, so the maximisers are unchanged)
  to be non-negative, simplex replicator dynamics from the barycentre. The iteration is slow
  (linear rate ≈ 0.9994 on ML-100K: 11,738 iterations to a step < `tol` = 1e-6, and then
  still ≈ 4e-4 from its limit), so with `polish` (default) the exact fixed point is solved for
  on the iterate's support every `polish_every` (500) iterations — the KKT system
  B_SS x_S = μ1, 1ᵀx_S = 1, members with x ≤ 0 dropped — and accepted per row only if it is
  a strict local maximum (x_S > 0, KKT residual < `tol`, B_SS < 0 on the tangent space); the
  loop stops when every row is accepted (ML-100K: at 500 iterations, identical top-3 sets to
  the 11,738-iteration run, KKT residual 9e-16). `max_iter` (50000) is a cap, reached only
  with a warning; `DominantSets.iterations` / `residual` (last step) / `kkt_residual` /
  `polished` / `converged` record what happened (`converged` = every row solved exactly with
  `polish`, the step rule without). The set is the support (x_v > `support_tol`) without t,
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
_POLISH_ENTRIES = 2e7   # matrix entries per row chunk of the exact solve


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
    polish: bool = True
    polish_every: int = 500

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
    #: largest KKT residual of the returned x over all rows (paper-faithful):
    #: max(|(Bx)_i − xᵀBx| on the support, ((Bx)_j − xᵀBx)₊ off it); the step `residual`
    #: alone understates the distance to the fixed point when the iteration is slow
    kkt_residual: float = float("nan")
    #: rows whose x is the exact KKT solution on the replicator's support (`polish`)
    polished: int = 0

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
        x, it, res, ok = _replicator(s_da, s_aa, scale, alpha, cfg)
        kkt_max = float(_kkt(x, s_da, s_aa, scale, alpha, cfg.support_tol).max()) if x.numel() \
            else 0.0
        # polish: every row is the exact solve (accepted ⇒ KKT < tol); else the step rule
        converged = bool(ok.all()) if cfg.polish else res < cfg.tol
        if not converged:
            logger.warning("UCDS dominant sets not converged after %d iterations: last change "
                           "%.2e, KKT residual %.2e, %d of %d rows solved exactly (tol %.1e)",
                           it, res, kkt_max, int(ok.sum()), len(x), cfg.tol)
        w = x[:, 1:] * (x[:, 1:] > cfg.support_tol)
        if cfg.neighbors > 0:   # the support is nearly all advantaged users: keep the top ones
            w = w * _top_neighbors(w, min(cfg.neighbors, len(adv)))
        w = w / w.sum(1, keepdim=True).clamp_min(1e-300)
        if cfg.pair_weights == "unit":
            w = (w > 0).to(w.dtype)  # the public code's weight 1 per pair
        return DominantSets(dis, adv, w.numpy(), alpha.flatten().numpy(), it, res,
                            converged, kkt_max, int(ok.sum()))
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
                cfg: UcdsConfig) -> tuple[torch.Tensor, int, float, torch.Tensor]:
    """Simplex replicator dynamics x ← x ⊙ Bx / xᵀBx from the barycentre, all rows at once,
    until the largest |Δx| < `tol` or `max_iter`; with `polish`, every `polish_every`
    iterations and at the end the exact solve on the current support (`_polish`) is tried on
    the rows not yet solved (an accepted row keeps its exact solution) and the loop stops once
    every row is accepted. Returns (x, iterations, the last iteration's
    largest |Δx|, the rows solved exactly)."""
    x = torch.full((s.shape[0], s.shape[1] + 1), 1.0 / (s.shape[1] + 1), dtype=s.dtype)
    done = torch.zeros(len(x), dtype=torch.bool)   # rows already solved exactly
    exact = torch.zeros_like(x)

    def solve_rest() -> None:
        todo = torch.nonzero(~done).flatten()
        px, ok = _polish(x[todo], s[todo], s_aa, scale[todo], alpha[todo], cfg)
        exact[todo[ok]] = px[ok]
        done[todo[ok]] = True

    delta = float("inf")
    it = 0
    for it in range(1, cfg.max_iter + 1):
        g = _bx(x, s, s_aa, scale, alpha, shift=True)
        new = x * g / (x * g).sum(1, keepdim=True).clamp_min(1e-300)
        delta = float((new - x).abs().max()) if x.numel() else 0.0
        x = new
        if cfg.polish and cfg.polish_every and it % cfg.polish_every == 0 and x.numel():
            solve_rest()
            if bool(done.all()):
                return exact, it, delta, done
        if delta < cfg.tol:
            break
    if cfg.polish and x.numel() and not bool(done.all()):
        solve_rest()
    return torch.where(done.unsqueeze(1), exact, x), it, delta, done


def _full_b(s: torch.Tensor, s_aa: torch.Tensor, scale: torch.Tensor,
            alpha: torch.Tensor) -> torch.Tensor:
    """B = A_t − αÎ_S per row, `[n_dis, 1 + n_adv, 1 + n_adv]` (unshifted)."""
    n, m = s.shape
    b = torch.zeros(n, m + 1, m + 1, dtype=s.dtype)
    b[:, 0, 1:] = s
    b[:, 1:, 0] = s
    b[:, 1:, 1:] = s_aa
    b = b / scale.reshape(n, 1, 1)
    idx = torch.arange(1, m + 1)
    b[:, idx, idx] -= alpha.reshape(n, 1)
    return b


def _kkt(x: torch.Tensor, s: torch.Tensor, s_aa: torch.Tensor, scale: torch.Tensor,
         alpha: torch.Tensor, support_tol: float) -> torch.Tensor:
    """Per row: max(|(Bx)_i − xᵀBx| for x_i > support_tol, ((Bx)_j − xᵀBx)₊ elsewhere)."""
    g = _bx(x, s, s_aa, scale, alpha, shift=False)
    gap = g - (x * g).sum(1, keepdim=True)
    on = x > support_tol
    return torch.where(on, gap.abs(), gap.clamp_min(0.0)).amax(1)


def _polish(x: torch.Tensor, s: torch.Tensor, s_aa: torch.Tensor, scale: torch.Tensor,
            alpha: torch.Tensor, cfg: UcdsConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """`_polish_rows` in row chunks of ≤ 2·10⁷ matrix entries (memory: a chunk holds one
    (1 + n_adv)² matrix per row)."""
    step = max(1, int(_POLISH_ENTRIES // (x.shape[1] + 1) ** 2))
    if len(x) <= step:
        return _polish_rows(x, s, s_aa, scale, alpha, cfg)
    parts = [_polish_rows(x[i:i + step], s[i:i + step], s_aa, scale[i:i + step],
                          alpha[i:i + step], cfg) for i in range(0, len(x), step)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def _polish_rows(x: torch.Tensor, s: torch.Tensor, s_aa: torch.Tensor, scale: torch.Tensor,
                 alpha: torch.Tensor, cfg: UcdsConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact fixed point on each row's support S: B_SS x_S = μ1, 1ᵀx_S = 1, x = 0 off S.
    S starts as {x_i > support_tol}; members whose solved x_i ≤ 0 are dropped and the system
    solved again (at most |V| rounds; the slow members are those the replicator is driving to
    0). Accepted (per row) only if x_S > 0, the KKT residual is < `tol` and B_SS is negative
    definite on {1ᵀd = 0} (a strict local maximum, the kind of point replicator dynamics
    converge to); rejected rows keep the iterate. Returns (x, accepted)."""
    n, m1 = x.shape
    b = _full_b(s, s_aa, scale, alpha)
    eye = torch.eye(m1, dtype=b.dtype).expand(n, m1, m1)
    on = x > cfg.support_tol
    new = x.clone()
    for _ in range(m1):
        fon = on.to(b.dtype)
        k = torch.zeros(n, m1 + 1, m1 + 1, dtype=b.dtype)
        k[:, :m1, :m1] = b * (fon.unsqueeze(2) * fon.unsqueeze(1)) + eye * (1 - fon).unsqueeze(2)
        k[:, :m1, m1] = -fon
        k[:, m1, :m1] = fon
        rhs = torch.zeros(n, m1 + 1, dtype=b.dtype)
        rhs[:, m1] = 1.0
        sol, info = torch.linalg.solve_ex(k, rhs)
        new = torch.where(on, sol[:, :m1], torch.zeros_like(x))
        bad = on & ~(new > 0)
        bad &= (info == 0).unsqueeze(1)
        if not bool(bad.any()):
            break
        on = on & ~bad
    ok = (info == 0) & torch.isfinite(new).all(1) & ((new > 0) | ~on).all(1) & on.any(1)
    ok &= _kkt(new, s, s_aa, scale, alpha, 0.0) < cfg.tol
    # second order: B_SS < 0 on {d : 1ᵀd = 0, d = 0 off S}. With u = 1_S/√|S| and
    # P = diag(1_S) − uuᵀ, PBP has the tangent eigenvalues and 0 on u and off S; those two
    # are moved to −1 so the largest eigenvalue is the tangent space's
    fon = on.to(b.dtype)
    u = fon / fon.sum(1, keepdim=True).clamp_min(1.0).sqrt()
    uu = u.unsqueeze(2) * u.unsqueeze(1)
    proj = torch.diag_embed(fon) - uu
    h = proj @ b @ proj - uu - eye * (1 - fon).unsqueeze(2)
    ok &= torch.linalg.eigvalsh(h).amax(1) < 0
    return torch.where(ok.unsqueeze(1), new, x), ok


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
