"""Functional recovery: injected shilling users raise target exposure; retraining undoes it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.methods.base import make_method
from cure4rec.metrics.catalog import metric_info
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_recovery
from cure4rec.metrics.recovery import functional_recovery, inject_fake_users, recovery_reference
from tests.metrics._cells import SPEC


def _split():  # type: ignore[no-untyped-def]
    return split_dataset(load_dataset("synthetic", n_users=150, n_items=100,
                                      n_interactions=4000), seed=0)


def test_injection_grows_the_user_space() -> None:
    train = _split().train
    data, fake, targets = inject_fake_users(train, 10, 3, 5, np.random.default_rng(0))
    assert data.n_users == train.n_users + 10 and len(data) == len(train) + 10 * 8
    assert fake.tolist() == list(range(train.n_users, train.n_users + 10))
    assert (train.item_degree()[targets] <= np.median(train.item_degree())).all()


@pytest.mark.slow
def test_retrain_fully_recovers() -> None:
    split, ctx = _split(), RunContext(seed=0)
    out = functional_recovery(make_method("retrain", SPEC), SPEC, split, ctx,
                              n_fake=40, n_targets=3, n_filler=10)
    assert out["exposure.original"] > out["exposure.retrain"] + 0.1, out
    # exact retraining recovers up to the seed noise between two retrains (the method's and
    # the reference's), which on this 40-fake toy moves top-k exposure by ~0.1 (0.69 seen)
    assert 0.5 < out["recovery"] < 1.5 and 0.7 < out["recovery_rank"] < 1.3, out
    ref = recovery_reference(SPEC, split, ctx, n_fake=40, n_targets=3, n_filler=10)
    shared = functional_recovery(make_method("retrain", SPEC), SPEC, split, ctx, n_fake=40,
                                 n_targets=3, n_filler=10, reference=ref)
    assert shared == out  # a shared reference is the very model the function would fit


@pytest.mark.slow
def test_recovery_reaches_records_only_when_enabled() -> None:
    split, ctx, ft = _split(), RunContext(seed=0), make_method("finetune", SPEC)
    assert evaluate_recovery(ft, SPEC, split, ctx) == {}
    m = evaluate_recovery(ft, SPEC, split, ctx, EvaluatorConfig(recovery=True))
    assert {"completeness.recovery", "completeness.recovery_rank"} <= set(m)
    assert all(metric_info(k).aspect == "completeness" for k in m)
    assert (m["completeness.recovery_target_rank.original"]
            > m["completeness.recovery_target_rank.retrain"])
    assert m["completeness.recovery_exposure.original"] > m["completeness.recovery_exposure.retrain"]


class _NoOp:
    """Learns like retrain, "unlearns" by returning the original model unchanged."""

    def __init__(self) -> None:
        self.inner = make_method("retrain", SPEC)

    def learn(self, *args):  # type: ignore[no-untyped-def]
        return self.inner.learn(*args)

    def unlearn(self, state, request, ctx):  # type: ignore[no-untyped-def]
        return SimpleNamespace(model=state.model)


@pytest.mark.slow
def test_no_op_does_not_recover() -> None:
    split, ctx = _split(), RunContext(seed=0)
    out = functional_recovery(_NoOp(), SPEC, split, ctx, n_fake=40, n_targets=3, n_filler=10)
    assert out["exposure.original"] > out["exposure.retrain"] + 0.1, out
    assert out["recovery"] == 0.0 and out["recovery_rank"] == 0.0, out
