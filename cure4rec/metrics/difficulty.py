"""Per-user unlearning difficulty, and completeness stratified by difficulty.

Two scores (methods.md §6.1, after MRD, arXiv 2504.06658):

- ``hessian``: the closed-form Hessian-trace proxy of MF-type models. For user u with train
  items I_u, H_u = Σ_{i∈I_u} σ'(s_ui) v_i v_iᵀ + λI, so
  tr H_u = Σ_{i∈I_u} σ'(s_ui)·‖v_i‖² + λ·d   (σ' = σ(1−σ); higher = harder).
  It grows with activity and with item-vector norms (popular items), which is why core users
  are harder than edge users.
- ``perturbation``: MRD-style stability, model-agnostic given embeddings. With K seeded
  Gaussian perturbations δ ~ N(0, (σ·rms(E))²) of both embedding tables,
  sens(u) = mean_{k, i∈I_u} |s'_ui − s_ui| and difficulty = 1 / sens(u)
  (stable memories are hard to unlearn).

The two need not agree: tr H is a sum over the user's items (it scales with activity),
sens is a per-item mean. Report which one was used.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError

Score = Literal["hessian", "perturbation"]
SCORES: tuple[str, ...] = ("hessian", "perturbation")


def _tables(model: object) -> tuple[torch.Tensor, torch.Tensor]:
    u = model.user_embeddings()  # type: ignore[attr-defined]
    v = model.item_embeddings()  # type: ignore[attr-defined]
    if u is None or v is None:
        raise ConfigError(f"difficulty needs a model with embeddings; "
                          f"{type(model).__name__} has none")
    return u.detach().to("cpu", torch.float64), v.detach().to("cpu", torch.float64)


def _pair_scores(u: torch.Tensor, v: torch.Tensor, train: Interactions) -> torch.Tensor:
    ui, ii = torch.as_tensor(np.array(train.user)), torch.as_tensor(np.array(train.item))
    return (u[ui] * v[ii]).sum(1)


def hessian_trace(model: object, train: Interactions, reg: float | None = None) -> np.ndarray:
    """tr H_u for every user index (0 for users without train items), `[n_users]`."""
    u, v = _tables(model)
    if reg is None:
        reg = float(getattr(getattr(model, "config", None), "reg", 0.0))
    s = _pair_scores(u, v, train)
    sig = torch.sigmoid(s)
    w = (sig * (1 - sig) * v[torch.as_tensor(np.array(train.item))].pow(2).sum(1)).numpy()
    tr = np.bincount(train.user, weights=w, minlength=train.n_users)
    return tr + reg * u.shape[1] * (train.user_degree() > 0)


def perturbation_sensitivity(model: object, train: Interactions, ctx: RunContext,
                             n_draws: int = 8, sigma: float = 0.05) -> np.ndarray:
    """Mean |Δ score| of each user's train pairs under seeded embedding noise, `[n_users]`."""
    u, v = _tables(model)
    g = ctx.child("difficulty-perturb").torch_generator()
    base = _pair_scores(u, v, train)
    su, sv = sigma * u.pow(2).mean().sqrt(), sigma * v.pow(2).mean().sqrt()
    acc = torch.zeros_like(base)
    for _ in range(n_draws):  # K draws; each is one batched pass over all pairs
        du = torch.randn(u.shape, generator=g, dtype=u.dtype) * su
        dv = torch.randn(v.shape, generator=g, dtype=v.dtype) * sv
        acc += (_pair_scores(u + du, v + dv, train) - base).abs()
    deg = np.maximum(train.user_degree(), 1)
    return np.bincount(train.user, weights=(acc / n_draws).numpy(),
                       minlength=train.n_users) / deg


def difficulty(model: object, train: Interactions, ctx: RunContext,
               score: str = "hessian") -> np.ndarray:
    """Per-user difficulty (higher = harder to unlearn) by the named score."""
    if score == "hessian":
        return hessian_trace(model, train)
    if score == "perturbation":
        sens = perturbation_sensitivity(model, train, ctx)
        return np.where(sens > 0, 1.0 / np.maximum(sens, 1e-12), 0.0)
    raise ConfigError(f"unknown difficulty score {score!r}; use one of {', '.join(SCORES)}")


def by_quantile(values: np.ndarray, diff: np.ndarray, n_bins: int = 4) -> list[float]:
    """Mean of `values` within each difficulty quantile bin (bin 1 = easiest)."""
    if len(values) == 0:
        return [float("nan")] * n_bins
    ranks = np.argsort(np.argsort(diff, kind="stable"), kind="stable")
    bins = ranks * n_bins // len(values)
    sums = np.bincount(bins, weights=values, minlength=n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    return [float(s / c) if c else float("nan") for s, c in zip(sums, counts)]


def ratio_by_quantile(unlearned_dist: np.ndarray, seed_dist: np.ndarray, diff: np.ndarray,
                      n_bins: int = 4) -> list[float]:
    """Per-quantile mean d̄(unlearned) over the same quantile's mean seed-noise d̄(seed)."""
    num, den = by_quantile(unlearned_dist, diff, n_bins), by_quantile(seed_dist, diff, n_bins)
    return [n / d if d > 1e-12 else float("nan") for n, d in zip(num, den)]
