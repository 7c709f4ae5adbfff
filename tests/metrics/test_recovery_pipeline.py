"""`functional_recovery` / `recovery_metrics` end to end with a popularity model (fast: no
training), against exposures and ranks worked out independently in numpy.

A popularity scorer fitted on a train set scores every item by its count there, so an
exact unlearning (refit without the fake users) gives the very scores of the retrained
reference: recovery must be exactly 1, and a no-op exactly 0.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.metrics.recovery import functional_recovery, recovery_metrics

N_FAKE, N_TARGETS, N_FILLER, K = 40, 3, 10, 20


class Pop:
    """score(u, i) = count of item i in the fitted set (ties broken by item id)."""

    def fit(self, train, valid=None, ctx=None):  # type: ignore[no-untyped-def]
        self.deg = torch.as_tensor(train.item_degree(), dtype=torch.float64)
        self.deg = self.deg - 1e-6 * torch.arange(len(self.deg), dtype=torch.float64)
        self.fitted_on = train
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.deg.expand(len(users), -1).clone()


SPEC = SimpleNamespace(build=Pop)


class Exact:
    def learn(self, data, ctx, valid):  # type: ignore[no-untyped-def]
        return SimpleNamespace(model=Pop().fit(data), data=data)

    def unlearn(self, state, request, ctx):  # type: ignore[no-untyped-def]
        keep = state.data.subset(~state.data.users_mask(request.users))
        return SimpleNamespace(model=Pop().fit(keep))


class NoOp(Exact):
    def unlearn(self, state, request, ctx):  # type: ignore[no-untyped-def]
        return SimpleNamespace(model=state.model)


@pytest.fixture(scope="module")
def split():  # type: ignore[no-untyped-def]
    return split_dataset(load_dataset("synthetic", n_users=150, n_items=100,
                                      n_interactions=4000), seed=0)


def _by_hand(counts: np.ndarray, real, users: np.ndarray, targets: np.ndarray):  # type: ignore[no-untyped-def]
    """(top-k exposure with own items masked, mean target percentile among all items)."""
    s = counts - 1e-6 * np.arange(len(counts))
    own = real.csr().toarray().astype(bool)
    hit, pct = [], []
    for u in users:
        su = np.where(own[u], -np.inf, s)
        top = np.argsort(-su, kind="stable")[:K]
        hit.append(np.isin(top, targets).any())
        for t in targets:  # share of all other items scored below t (no ties here)
            pct.append((s < s[t]).sum() / (len(s) - 1))
    return float(np.mean(hit)), float(np.mean(pct))


def test_exact_recovers_one_no_op_zero_against_numpy(split) -> None:  # type: ignore[no-untyped-def]
    kw = dict(n_fake=N_FAKE, n_targets=N_TARGETS, n_filler=N_FILLER, k=K)
    ctx = RunContext(seed=0)
    exact = functional_recovery(Exact(), SPEC, split, ctx, **kw)
    noop = functional_recovery(NoOp(), SPEC, split, ctx, **kw)
    assert exact["recovery"] == 1.0 and exact["recovery_rank"] == 1.0, exact
    assert noop["recovery"] == 0.0 and noop["recovery_rank"] == 0.0, noop

    # the setting, read back from what the method learned on: the items every fake shares
    real_counts = np.bincount(split.train.item, minlength=split.train.n_items)
    users = split.train.active_users()
    state = {}

    class Spy(Exact):
        def learn(self, data, ctx, valid):  # type: ignore[no-untyped-def]
            state["data"] = data
            return super().learn(data, ctx, valid)

    functional_recovery(Spy(), SPEC, split, ctx, **kw)
    grown = state["data"]
    fake = np.arange(split.train.n_users, grown.n_users)
    assert len(fake) == N_FAKE
    fake_counts = np.bincount(grown.item[np.isin(grown.user, fake)], minlength=grown.n_items)
    targets = np.flatnonzero(fake_counts == N_FAKE)
    assert len(targets) == N_TARGETS
    assert (real_counts[targets] <= np.median(real_counts)).all()
    assert len(np.unique(grown.user * grown.n_items + grown.item)) == len(grown)  # no pair twice
    assert (np.bincount(grown.user)[fake] == N_TARGETS + N_FILLER).all()
    real = split.train
    exp_o, rank_o = _by_hand(real_counts + fake_counts, real, users, targets)
    exp_r, rank_r = _by_hand(real_counts, real, users, targets)
    assert exact["exposure.original"] == pytest.approx(exp_o, abs=1e-12)
    assert exact["exposure.retrain"] == pytest.approx(exp_r, abs=1e-12)
    assert exact["exposure.original"] > exact["exposure.retrain"] + 0.5  # the attack works
    assert exact["rank.original"] == pytest.approx(rank_o, abs=1e-9)
    assert exact["rank.retrain"] == pytest.approx(rank_r, abs=1e-9)
    assert exact["rank.unlearned"] == exact["rank.retrain"]
    assert noop["rank.unlearned"] == noop["rank.original"]


def test_recovery_metrics_names_each_value(split) -> None:  # type: ignore[no-untyped-def]
    ctx = RunContext(seed=0)
    raw = functional_recovery(NoOp(), SPEC, split, ctx, k=K)
    keys = recovery_metrics(NoOp(), SPEC, split, ctx, k=K)
    assert keys["completeness.recovery"] == raw["recovery"]
    assert keys["completeness.recovery_rank"] == raw["recovery_rank"]
    for name, suffix in (("unlearned", ""), ("original", ".original"), ("retrain", ".retrain")):
        assert keys[f"completeness.recovery_exposure{suffix}"] == raw[f"exposure.{name}"]
        assert keys[f"completeness.recovery_target_rank{suffix}"] == raw[f"rank.{name}"]
        assert keys[f"completeness.recovery_ndcg@{K}{suffix}"] == raw[f"ndcg@{K}.{name}"]
    assert len(keys) == 2 + 9
    # the shared reference is the model the function would fit itself
    ref = Pop().fit(split.train)
    assert functional_recovery(NoOp(), SPEC, split, ctx, k=K, reference=ref) == raw
