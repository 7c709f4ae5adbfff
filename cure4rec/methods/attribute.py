"""Post-training attribute unlearning (Li et al., "Making Users Indistinguishable", MM'23).

After normal training, only the user embedding table(s) of a copy of the model are optimised
(full-batch Adam, `steps` steps) to make the attribute groups indistinguishable:

    L = L_dist(U) + λ · L_reg(U)

- ``attribute-u2u``: L_dist = closed-form Σ_{i∈G_a, j∈G_b} ‖u_i − u_j‖², per pair of groups
  divided by |G_a||G_b| (`normalize`), summed over all pairs of groups for K > 2;
- ``attribute-d2d``: L_dist = multi-kernel MMD² of every group against the largest group;
- ``reg="rank_hinge"``: Σ_{n<k} max(0, ŝ(u, i_{n+1}) − ŝ(u, i_n) + margin) over the original
  model's top-k (history excluded), mean over users (the public code's regulariser);
- ``reg="param_l2"``: ‖U − U₀‖² summed over dimensions, mean over users (the paper's).
Only the users of the request with a known attribute value form the groups (all labelled
users when the request lists none). NeuMF: both user tables, attacked concatenated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.fairness.distinguish import d2d_loss, u2u_loss
from cure4rec.fairness.embeddings import attribute_codes, user_rows, user_tables
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, MethodCard, UnlearningMethod, UnlearnResult
from cure4rec.methods.retrain import fit_fresh
from cure4rec.metrics.ranking import top_k

logger = logging.getLogger(__name__)
REFERENCE = ("Li et al., Making Users Indistinguishable: Attribute-wise Unlearning in "
             "Recommender Systems, ACM MM 2023 (arXiv 2310.05847)")


@dataclass(frozen=True)
class AttributeConfig:
    """Budget and trade-off of the post-training optimisation."""

    steps: int = 500
    lr: float = 1e-3
    weight: float = 1.0
    reg: Literal["rank_hinge", "param_l2", "none"] = "rank_hinge"
    margin: float = 0.05
    k: int = 20
    normalize: bool = True
    chunk: int = 4096

    def __post_init__(self) -> None:
        if self.steps < 0 or self.lr <= 0 or self.weight < 0 or self.k < 2:
            raise ConfigError(f"attribute unlearning: need steps >= 0, lr > 0, weight >= 0, "
                              f"k >= 2; got {self.steps}, {self.lr}, {self.weight}, {self.k}")
        if self.reg not in ("rank_hinge", "param_l2", "none"):
            raise ConfigError(f"reg must be rank_hinge, param_l2 or none, got {self.reg!r}")


def request_labels(train: Interactions, request: ForgetRequest) -> torch.Tensor:
    """Class code per user index for the request's users (-1: not in a group)."""
    if request.kind != "attribute" or not request.attribute:
        raise ConfigError(f"expected an attribute request, got kind {request.kind!r}")
    codes, _ = attribute_codes(train, request.attribute)
    labels = np.full(train.n_users, -1, dtype=np.int64)
    users = request.users if len(request.users) else np.arange(train.n_users)
    labels[users] = codes[users]
    if len(np.unique(labels[labels >= 0])) < 2:
        raise ConfigError(f"attribute {request.attribute!r} has fewer than 2 groups among the "
                          "request's users: nothing to make indistinguishable")
    return torch.from_numpy(labels)


def _rank_hinge(model: Any, users: torch.Tensor, ref: torch.Tensor, margin: float
                ) -> torch.Tensor:
    k = ref.shape[1]
    s = model.pair_logits(users.repeat_interleave(k), ref.flatten()).view(-1, k)
    return torch.relu(s[:, 1:] - s[:, :-1] + margin).sum(1).mean()


def unlearn_attribute(model: Any, labels: torch.Tensor, history: Interactions | None,
                      cfg: AttributeConfig, loss: str) -> Any:
    """Optimise `model`'s user table(s) in place with L_dist + λ L_reg; returns `model`."""
    tables = user_tables(model)
    others = [p for p in model.parameters() if all(p is not t for t in tables)]
    flags = [p.requires_grad for p in others]
    for p in others:
        p.requires_grad_(False)
    start = [t.detach().clone() for t in tables]
    users = torch.arange(labels.shape[0])
    ref = top_k(model, users.numpy(), cfg.k, history) if cfg.reg == "rank_hinge" else None
    dist = (lambda e: u2u_loss(e, labels, cfg.normalize)) if loss == "u2u" else (
        lambda e: d2d_loss(e, labels, cfg.chunk))
    opt = torch.optim.Adam(tables, lr=cfg.lr)
    try:
        for step in range(cfg.steps):
            value = dist(user_rows(model))
            if cfg.reg == "rank_hinge":
                value = value + cfg.weight * _rank_hinge(model, users, ref, cfg.margin)
            elif cfg.reg == "param_l2":
                value = value + cfg.weight * sum(
                    (t - t0).pow(2).sum(1).mean() for t, t0 in zip(tables, start))
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            if step % 100 == 0:
                logger.debug("attribute-%s step %d: loss %.6g", loss, step, value.item())
    finally:
        for p, f in zip(others, flags):
            p.requires_grad_(f)
        model.invalidate()
    return model


class PostTrainingAttribute(UnlearningMethod):
    """Shared lifecycle: learn = normal training; unlearn = optimise a copy's user tables."""

    loss: ClassVar[str] = "u2u"
    Config = AttributeConfig  # type: ignore[assignment]

    def _learn(self, train: Interactions, valid: Interactions | None,
               ctx: RunContext) -> LearnedState:
        return LearnedState(fit_fresh(self, train, valid, ctx.child("model")), train,
                            {"ctx": ctx})

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        labels = request_labels(state.train, request)
        model = unlearn_attribute(state.model.copy(), labels, state.train,  # type: ignore[attr-defined]
                                  self.config, self.loss)
        info = {"attribute": request.attribute, "users": int((labels >= 0).sum())}
        return UnlearnResult(model, LearnedState(model, state.train, dict(state.extra),
                                                 valid=state.valid), state.timing, info)


def _card(name: str, what: str) -> MethodCard:
    return MethodCard(name=name, exact=False, reference=REFERENCE,
                      request_kinds=("attribute",), needs=("train", "user_attributes"),
                      notes=f"{what}; optimises only the user embedding table(s), "
                            "NeuMF's two tables together.")


@METHODS.register("attribute-u2u")
class AttributeU2U(PostTrainingAttribute):
    """Post-training attribute unlearning with the user-to-user loss."""

    card = _card("attribute-u2u", "U2U: pull every cross-group user pair together")
    loss = "u2u"


@METHODS.register("attribute-d2d")
class AttributeD2D(PostTrainingAttribute):
    """Post-training attribute unlearning with the distribution-to-distribution (MMD) loss."""

    card = _card("attribute-d2d", "D2D: multi-kernel MMD² of each group to the largest")
    loss = "d2d"
