"""Retrain from scratch on the retained data: the oracle every other method is judged by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, MethodCard, UnlearningMethod, UnlearnResult
from cure4rec.models.base import ModelSpec, Recommender

TOY = "cure4rec.testing.toy:ToyMF"
NATIVE_MODELS = ("bpr", "mf-bce", "wmf", "lightgcn", "neumf", "gmf", TOY)
MF_MODELS = ("bpr", "mf-bce", "wmf", TOY)


def fit_with(model: Recommender, train: Interactions, valid: Interactions | None,
             ctx: RunContext, regularizers: Sequence[Any] = ()) -> Recommender:
    """Fit `model`, passing training regularizers only when there are any.

    Native torch models take them; others (e.g. the RecBole adapter) train without the hook,
    and asking them for a regularizer is a configuration error, not a TypeError.
    """
    if not regularizers:
        model.fit(train, valid, ctx)
        return model
    from cure4rec.models.torch_base import TorchRecommender

    if not isinstance(model, TorchRecommender):
        raise ConfigError(f"model {model.name!r} cannot train with regularizers (e.g. UCDS); "
                          "use a native model (bpr, mf-bce, lightgcn, gmf, neumf)")
    model.fit(train, valid, ctx, regularizers=regularizers)
    return model


def fit_fresh(method: UnlearningMethod, train: Interactions, valid: Interactions | None,
              ctx: RunContext) -> Recommender:
    """A new model of the method's spec trained on `train` with the method's regularizers."""
    return fit_with(method.model_spec.build(), train, valid, ctx,
                    method.training_regularizers(train, ctx))


def learn_single(method: UnlearningMethod, train: Interactions, valid: Interactions | None,
                 ctx: RunContext) -> LearnedState:
    """The learned state of a single-model method: one model fitted on `train`, plus `ctx`."""
    return LearnedState(fit_fresh(method, train, valid, ctx.child("model")), train, {"ctx": ctx})


def reset_user_rows(model: Recommender, spec: ModelSpec, users: np.ndarray,
                    train: Interactions, ctx: RunContext) -> None:
    """Give `users` the rows a never-trained model of `spec` would have (seeded by `ctx`).

    A fresh model is set up on `train` (same init distribution as the model's own) and its
    initial values are copied into every user table of `model` (NeuMF has two).
    """
    fresh: Any = spec.build()
    fresh.setup(train, ctx)
    idx = torch.tensor(np.asarray(users, dtype=np.int64))
    with torch.no_grad():
        for mine, init in zip(_user_tables(model), _user_tables(fresh)):
            mine[idx.to(mine.device)] = init[idx.to(init.device)].to(mine)
    getattr(model, "invalidate", lambda: None)()


def _user_tables(model: Any) -> tuple[torch.Tensor, ...]:
    tables = getattr(model, "user_tables", None)
    return tuple(tables()) if callable(tables) else (model.user_table(),)


class SingleModelMethod(UnlearningMethod):
    """A method whose state is one model trained on the full train set (`learn_single`)."""

    def _learn(self, train: Interactions, valid: Interactions | None,
               ctx: RunContext) -> LearnedState:
        return learn_single(self, train, valid, ctx)


def reference_context(ctx: RunContext, kind: str, index: int) -> RunContext:
    """The context of reference `index`: the cell's root seed, path ``<kind>/<index>``.

    Distinct cell seeds give disjoint references (a root seed + offset scheme made cells
    s and s + 1 share all but one), and no reference shares a stream with the evaluated run.
    """
    return ctx.child(kind).child(str(int(index)))


def retrain_references(model_spec: ModelSpec, retain: Interactions, valid: Interactions | None,
                       ctx: RunContext, seeds: Sequence[int] = tuple(range(8))
                       ) -> list[Recommender]:
    """Oracle models trained on `retain`, one per reference index (`reference_context`).

    Their spread is the noise floor of the calibrated completeness score.
    """
    out = []
    for s in seeds:
        sctx = reference_context(ctx, "retrain-reference", int(s))
        model = model_spec.build()
        model.fit(retain, valid, sctx)
        out.append(model)
    return out


def method_references(method: UnlearningMethod, retain: Interactions,
                      valid: Interactions | None, ctx: RunContext,
                      seeds: Sequence[int] = (0, 1, 2)) -> list[Recommender]:
    """`method`'s own algorithm learned on `retain`, one per seed offset: A(D − D_f).

    The right yardstick for an exact method whose served model is not a single retrained
    model (SISA; RecEraser / UltraRE only with ``strict=True``). Own context path
    (``method-reference/<j>``), so no reference shares a seed stream with the evaluated run.
    """
    return [method.learn(retain, reference_context(ctx, "method-reference", int(s)),
                         valid=valid).model for s in seeds]


def default_reference_kind(card: MethodCard) -> str:
    """`method` for exact methods other than plain retraining, else `retrain`.

    Pass the *instance's* card (`method.card`): RecEraser / UltraRE are approximate
    (``exact=False``: their partition is computed on D) and so judged against plain
    retraining, unless built with ``strict=True``, whose card says ``exact=True``.
    """
    return "method" if card.exact and card.name != "retrain" else "retrain"


@METHODS.register("retrain")
class Retrain(SingleModelMethod):
    """Train a fresh model on train minus forget, from the same seed path as at learn time."""

    card = MethodCard(
        name="retrain", exact=True, reference="oracle (retraining from scratch)",
        needs=("train",),
        notes="Exact by definition; its cost is the denominator of every speed-up.")

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        lctx: RunContext = state.extra["ctx"]
        retain = request.retained(state.train)
        model = fit_fresh(self, retain, state.valid, lctx.child("model"))
        return UnlearnResult(model, LearnedState(model, retain, dict(state.extra),
                                                 valid=state.valid), state.timing)
