"""SCIF (Li et al., ESWA 2023): an influence-function update of the touched embeddings.

Two named variants (mio_scif.md §1.6, §3.2):

- ``paper``: only the target users' embeddings move. The loss is pointwise BCE over the
  train positives and `neg_ratio` sampled negatives per positive; each user's d×d Hessian
  is exact (d Hessian-vector products give every user's block at once, as user rows are
  independent in MF) and solved with batched `torch.linalg.solve`.
- ``ifru``: as the public reimplementation (IFRU's `scif_*_khop0`): the embeddings of the
  users *and* items of the forgotten pairs move; the Hessian is used through exact
  Hessian-vector products and the system is solved by conjugate gradient.

The right-hand side replaces each forgotten pair's label y=1 by the collaborative average ȳ
(the user's mean label on the retained data, else the item's): Δθ = (H+λI)⁻¹ [Σ_F ∇ℓ(y) −
Σ_F ∇ℓ(ȳ) + c·Σ_D ∇ℓ], with c = +1 in the IFRU port ('ifru'), −1 for a Newton step
('newton') and 0 ('none'). With implicit feedback and r sampled negatives per positive the
user mean is the constant 1/(1+r).

Whole-user deletion with only user embeddings moving: each user's loss involves only their
own row and the fixed item rows, so no other user's optimum changes and SCIF-paper reduces to
rewriting the deleted users' rows; their scores change, everyone else's stay identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, MethodCard, UnlearningMethod, UnlearnResult
from cure4rec.methods.retrain import MF_MODELS, fit_fresh

T = torch.Tensor


@METHODS.register("scif")
class SCIF(UnlearningMethod):
    """Selective and collaborative influence-function unlearning (no retraining)."""

    card = MethodCard(
        name="scif", exact=False,
        reference="Li et al., Selective and Collaborative Influence Function, ESWA 2023 "
                  "(arXiv 2304.10199); 'ifru' variant after baiyimeng/IFRU",
        models=MF_MODELS, needs=("train", "original model"),
        notes="Dot-product MF models (user rows independent). Paper variant under whole-user "
              "deletion only rewrites the deleted users' rows (see module docstring).")

    @dataclass(frozen=True)
    class Config:
        variant: Literal["paper", "ifru"] = "paper"
        grad_term: Literal["auto", "none", "ifru", "newton"] = "auto"
        damping: float = 0.01
        neg_ratio: int = 1
        cg_iters: int = 50

        def __post_init__(self) -> None:
            if self.damping < 0 or self.neg_ratio < 1 or self.cg_iters < 1:
                raise ConfigError("scif: damping >= 0, neg_ratio >= 1, cg_iters >= 1 required")

    def _learn(self, train: Interactions, valid: Interactions | None,
               ctx: RunContext) -> LearnedState:
        return LearnedState(fit_fresh(self, train, valid, ctx.child("model")), train)

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        cfg = self.config
        model: Any = state.model.copy()  # type: ignore[attr-defined]
        gone = state.train.isin(request.forget)
        retain = state.train.subset(~gone)
        users = np.unique(request.forget.user)
        items = np.unique(request.forget.item) if cfg.variant == "ifru" else np.zeros(0, int)
        du, di, dy = _loss_data(state.train, users, items, cfg.neg_ratio, ctx.torch_generator())
        fu, fi = torch.tensor(request.forget.user), torch.tensor(request.forget.item)
        ybar = _average_labels(retain, request.forget, cfg.neg_ratio)
        U, V = model.user_table(), model.item_table()
        U.requires_grad_(True)
        V.requires_grad_(True)
        c = {"auto": 1.0 if cfg.variant == "ifru" else 0.0, "none": 0.0, "ifru": 1.0,
             "newton": -1.0}[cfg.grad_term]
        rhs = (model.pointwise_loss(fu, fi, torch.ones(len(fu))).sum()
               - model.pointwise_loss(fu, fi, ybar).sum())
        total = model.pointwise_loss(du, di, dy).sum()
        gU, gV = torch.autograd.grad(total, [U, V], create_graph=True)
        rU, rV = torch.autograd.grad(rhs, [U, V])
        rU, rV = rU + c * gU.detach(), rV + c * gV.detach()
        if cfg.variant == "paper":
            pU, pV = torch.zeros_like(U), torch.zeros_like(V)
            pU[users] = _block_solve(gU, U, users, rU[users], cfg.damping)
        else:
            pU, pV = _cg(gU, gV, U, V, users, items, rU, rV, cfg.damping, cfg.cg_iters)
        with torch.no_grad():
            U += pU
            V += pV
        U.requires_grad_(False)
        V.requires_grad_(False)
        getattr(model, "invalidate", lambda: None)()  # drop cached propagated embeddings
        return UnlearnResult(model, LearnedState(model, retain, valid=state.valid), state.timing,
                             {"variant": cfg.variant, "moved_users": len(users),
                              "moved_items": len(items)})


def _loss_data(train: Interactions, users: np.ndarray, items: np.ndarray, neg_ratio: int,
               g: torch.Generator) -> tuple[T, T, T]:
    """Train positives touching `users`/`items` plus `neg_ratio` sampled negatives each."""
    mask = train.users_mask(users)
    if len(items):
        mask |= np.isin(train.item, items)
    pu, pi = torch.tensor(train.user[mask]), torch.tensor(train.item[mask])
    nu = pu.repeat(neg_ratio)
    ni = torch.randint(train.n_items, (len(nu),), generator=g)
    y = torch.cat([torch.ones(len(pu)), torch.zeros(len(nu))])
    return torch.cat([pu, nu]), torch.cat([pi, ni]), y


def _average_labels(retain: Interactions, forget: Interactions, neg_ratio: int) -> T:
    """ȳ per forgotten pair: the user's mean retained label, else the item's (expected)."""
    has_user = retain.user_degree()[forget.user] > 0
    p_i = retain.item_degree()[forget.item].astype(np.float64)
    neg_i = neg_ratio * len(retain) / max(retain.n_items, 1)
    item_mean = np.where(p_i > 0, p_i / np.maximum(p_i + neg_i, 1e-12), 0.0)
    return torch.as_tensor(np.where(has_user, 1.0 / (1 + neg_ratio), item_mean),
                           dtype=torch.float32)


def _block_solve(gU: T, U: T, users: np.ndarray, rhs: T, damping: float) -> T:
    """Exact per-user d×d Hessian blocks (d HVPs for all users at once), batched solve."""
    d = U.shape[1]
    H = torch.empty(len(users), d, d, dtype=U.dtype)
    for k in range(d):
        v = torch.zeros_like(U)
        v[users, k] = 1.0
        (hv,) = torch.autograd.grad(gU, [U], grad_outputs=v, retain_graph=True)
        H[:, :, k] = hv[users]
    H = 0.5 * (H + H.transpose(1, 2)) + damping * torch.eye(d, dtype=U.dtype)
    return torch.linalg.solve(H, rhs)


def _cg(gU: T, gV: T, U: T, V: T, users: np.ndarray, items: np.ndarray, rU: T, rV: T,
        damping: float, iters: int) -> tuple[T, T]:
    """Conjugate gradient on (H+λI)p = r over the selected rows only (bounded iterations)."""
    mU, mV = torch.zeros(len(U), 1), torch.zeros(len(V), 1)
    mU[users], mV[items] = 1.0, 1.0

    def hvp(pu: T, pv: T) -> tuple[T, T]:
        hu, hv = torch.autograd.grad([gU, gV], [U, V], grad_outputs=[pu, pv], retain_graph=True)
        return (hu + damping * pu) * mU, (hv + damping * pv) * mV

    x = [torch.zeros_like(U), torch.zeros_like(V)]
    r = [rU * mU, rV * mV]
    p = [r[0].clone(), r[1].clone()]
    rs = sum((t * t).sum() for t in r)
    for _ in range(iters):
        hp = hvp(*p)
        php = sum((a * b).sum() for a, b in zip(p, hp))
        if php <= 0 or rs < 1e-12:
            break
        alpha = rs / php
        x = [a + alpha * b for a, b in zip(x, p)]
        r = [a - alpha * b for a, b in zip(r, hp)]
        new = sum((t * t).sum() for t in r)
        p = [a + (new / rs) * b for a, b in zip(r, p)]
        rs = new
    return x[0].detach(), x[1].detach()
