"""Gradient ascent on the forget set (NegGrad), optionally with a retain term (NegGrad+)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, MethodCard, UnlearnResult
from cure4rec.methods.retrain import NATIVE_MODELS, SingleModelMethod

MODELS = NATIVE_MODELS


def _params(model: object) -> list[torch.Tensor]:
    params = getattr(model, "parameters", None)
    out = list(params()) if callable(params) else [model.user_table(), model.item_table()]  # type: ignore[attr-defined]
    return [p.requires_grad_(True) for p in out]


@METHODS.register("gradient-ascent")
class GradientAscent(SingleModelMethod):
    """Maximise the pointwise loss of the forgotten pairs, with clipping and early stopping.

    Stops once the forgotten pairs' mean loss reaches that of random (user, item) pairs of
    the same users labelled positive: the forgotten items then look unobserved. Without
    that stop, ascent diverges (the over-unlearning "Streisand effect").
    """

    card = MethodCard(
        name="gradient-ascent", exact=False, min_effect=0.5, reference="NegGrad (generic MU baseline)",
        models=MODELS, needs=("train", "original model"))

    @dataclass(frozen=True)
    class Config:
        steps: int = 50
        lr: float = 0.01
        clip: float = 1.0
        retain_weight: float = 0.0
        retain_batch: int = 4096

        def __post_init__(self) -> None:
            if self.steps < 1 or self.lr <= 0 or self.clip <= 0:
                raise ConfigError("gradient-ascent: steps >= 1, lr > 0 and clip > 0 are required")

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        cfg, g = self.config, ctx.torch_generator()
        retain = request.retained(state.train)
        model = state.model.copy()  # type: ignore[attr-defined]
        params = _params(model)
        opt = torch.optim.Adam(params, lr=cfg.lr)
        fu, fi = torch.tensor(request.forget.user), torch.tensor(request.forget.item)
        ones = torch.ones(len(fu))
        with torch.no_grad():
            rand = torch.randint(model.n_items, (len(fu),), generator=g)
            target = model.pointwise_loss(fu, rand, ones).mean()
        steps = 0
        for steps in range(1, cfg.steps + 1):  # noqa: B007
            forget_loss = model.pointwise_loss(fu, fi, ones).mean()
            if forget_loss.item() >= target.item():
                break
            loss = -forget_loss
            if cfg.retain_weight > 0 and len(retain):
                loss = loss + cfg.retain_weight * self._retain_loss(model, retain, g)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()
        for p in params:
            p.requires_grad_(False)
        getattr(model, "invalidate", lambda: None)()  # drop cached propagated embeddings
        return UnlearnResult(model, LearnedState(model, retain, valid=state.valid), state.timing,
                             {"steps": steps})

    def _retain_loss(self, model: object, retain: Interactions,
                     g: torch.Generator) -> torch.Tensor:
        rows = torch.randint(len(retain), (min(self.config.retain_batch, len(retain)),),
                             generator=g)
        u, i = torch.tensor(retain.user)[rows], torch.tensor(retain.item)[rows]
        neg = torch.randint(retain.n_items, (len(rows),), generator=g)
        users, items = torch.cat([u, u]), torch.cat([i, neg])
        labels = torch.cat([torch.ones(len(u)), torch.zeros(len(u))])
        return model.pointwise_loss(users, items, labels).mean()  # type: ignore[attr-defined]


@METHODS.register("gradient-ascent+retain")
class GradientAscentRetain(GradientAscent):
    """NegGrad+: gradient ascent on the forget set plus the loss on retained data."""

    card = MethodCard(
        name="gradient-ascent+retain", exact=False, min_effect=0.5,
        reference="NegGrad+ (Kurmanji et al., NeurIPS 2023)", models=MODELS,
        needs=("train", "original model"))

    @dataclass(frozen=True)
    class Config(GradientAscent.Config):
        retain_weight: float = 1.0
