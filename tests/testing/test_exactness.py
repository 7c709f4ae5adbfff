"""The kit's exactness check is against the method learned from scratch on D − D_f.

A sharded method that partitions on D (forgotten users included) and then claims to be
exact must fail it; the same method re-partitioning on the retained data (`strict`) must
pass. An approximate method must remove its card's `min_effect` share of the forgotten
pairs' score margin.
"""

from dataclasses import replace

import numpy as np
import pytest

from cure4rec.context import RunContext
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, MethodCard
from cure4rec.methods.finetune import FineTune
from cure4rec.methods.receraser import RecEraser
from cure4rec.methods.retrain import learn_single
from cure4rec.methods.ultrare import UltraRE
from cure4rec.testing import TOY_MODEL, run_checks, toy_interactions
from cure4rec.testing.conformance import _Run, check_forgetting


class LeakyRecEraser(RecEraser):
    """RecEraser partitioned on D that claims exactness (the pre-issue-12 card)."""

    card = replace(RecEraser.card, name="leaky-receraser", exact=True)


class LeakyUltraRE(UltraRE):
    card = replace(UltraRE.card, name="leaky-ultrare", exact=True)


@pytest.mark.parametrize("cls, cfg", [(LeakyRecEraser, {"shards": 3, "agg_epochs": 10}),
                                      (LeakyUltraRE, {"shards": 3, "lr_steps": 50})])
def test_partition_leak_fails_and_strict_passes(cls, cfg) -> None:  # type: ignore[no-untyped-def]
    leaky = check_forgetting(_Run(cls, TOY_MODEL, cfg))
    assert leaky.name == "equals-retraining" and not leaky.ok, leaky.message
    diff = float(leaky.message.split("D − D_f ")[1].split()[0])
    assert diff > 1e-2  # the served scores are far from A(D − D_f), not a rounding issue
    strict = check_forgetting(_Run(cls, TOY_MODEL, {**cfg, "strict": True}))
    assert strict.name == "equals-retraining" and strict.ok, strict.message


def test_leaky_partition_differs_from_the_clean_one() -> None:
    """The reason it fails: the partition learned on D is not the one learned on D − D_f.

    On the toy data's three clean clusters the groups coincide up to a renaming of shards,
    but shard j's identity (its seed stream, its slot in the aggregator) does not.
    """
    train = toy_interactions()
    users = np.arange(0, 60, 10)
    req = ForgetRequest("users", train.subset(train.users_mask(users)), users)
    ctx = RunContext(seed=7)
    m = RecEraser(TOY_MODEL, {"shards": 3, "agg_epochs": 10})
    leaky = m.unlearn(m.learn(train, ctx), req, ctx).state.extra["partition"].labels
    clean = m.learn(req.retained(train), ctx).extra["partition"].labels
    kept = np.setdiff1d(np.arange(train.n_users), users)
    assert not np.array_equal(leaky[kept], clean[kept])


def test_cards_state_exactness_honestly() -> None:
    for name in ("receraser", "ultrare"):
        card = METHODS.get(name).card
        assert not card.exact and "not A(D − D_f)" in card.exact_wrt and card.min_effect > 0
        strict = METHODS.get(name)(TOY_MODEL, {"strict": True}).card
        assert strict.exact and "from scratch" in strict.exact_wrt
    assert METHODS.get("sisa").card.exact and "from scratch" in METHODS.get("sisa").card.exact_wrt
    for name in ("finetune", "gradient-ascent", "gradient-ascent+retain", "scif"):
        assert METHODS.get(name).card.min_effect >= 0.5


class DoNothing(FineTune):
    """Serves the original model unchanged: removes none of the forgotten pairs' margin."""

    card = MethodCard(name="do-nothing", exact=False, reference="test", min_effect=0.5)

    def _learn(self, train, valid, ctx):  # type: ignore[no-untyped-def]
        return learn_single(self, train, valid, ctx)

    def _unlearn(self, state, request, ctx):  # type: ignore[no-untyped-def]
        from cure4rec.methods.base import LearnedState, UnlearnResult

        return UnlearnResult(state.model, LearnedState(state.model, request.retained(
            state.train), valid=state.valid), state.timing)


class Shrink(DoNothing):
    """Lowers the forgotten pairs' scores by a sliver: passes `min_effect=0`, not 0.5."""

    def _unlearn(self, state, request, ctx):  # type: ignore[no-untyped-def]
        out = super()._unlearn(state, request, ctx)
        model = state.model.copy()
        with_u = model.user_table()
        idx = np.unique(request.forget.user)
        with_u.data[idx] *= 0.98
        getattr(model, "invalidate", lambda: None)()
        out.model = model
        out.state.model = model
        return out


def test_min_effect_is_enforced() -> None:
    res = {r.name: r for r in run_checks(DoNothing, TOY_MODEL)}
    assert not res["forget-influence-reduced"].ok
    weak = {r.name: r for r in run_checks(Shrink, TOY_MODEL)}["forget-influence-reduced"]
    assert not weak.ok and "min_effect 50%" in weak.message
    Shrink.card = replace(Shrink.card, min_effect=0.0)
    try:
        ok = {r.name: r for r in run_checks(Shrink, TOY_MODEL)}["forget-influence-reduced"]
        assert ok.ok, ok.message
    finally:
        Shrink.card = replace(Shrink.card, min_effect=0.5)


def test_reference_kind_follows_the_instance_card() -> None:
    """Non-strict RecEraser / UltraRE are judged against plain retraining."""
    from cure4rec.methods.retrain import default_reference_kind

    for name in ("receraser", "ultrare"):
        assert default_reference_kind(METHODS.get(name)(TOY_MODEL).card) == "retrain"
        strict = METHODS.get(name)(TOY_MODEL, {"strict": True})
        assert default_reference_kind(strict.card) == "method"
    assert default_reference_kind(METHODS.get("sisa")(TOY_MODEL).card) == "method"
    assert default_reference_kind(METHODS.get("retrain")(TOY_MODEL).card) == "retrain"
