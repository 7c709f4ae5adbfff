"""Full-catalogue evaluation in bounded memory: every pass scores at most B users at once,
and the results are bit-identical to scoring every user in one go."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.metrics.attribute_attack import score_features
from cure4rec.metrics.batching import max_batch_users, users_per_batch
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_cell, evaluate_reference
from cure4rec.metrics.mia import user_features
from cure4rec.testing.toy import ToyMF

B = 7


class Capped(ToyMF):
    """ToyMF whose `score` refuses more than `limit` users, with row-wise arithmetic (an
    elementwise product summed per row: a row's scores do not depend on the batch)."""

    limit: int | None = None

    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        users = torch.as_tensor(np.asarray(users), dtype=torch.long)
        if self.limit is not None and len(users) > self.limit:
            raise AssertionError(f"asked for {len(users)} users at once (limit {self.limit})")
        with torch.no_grad():
            return (self.U[users][:, None, :] * self.V[None, :, :]).sum(-1)


def _fit(data: Any, ctx: RunContext) -> Capped:
    m = Capped(ToyMF.Config(dim=8, epochs=30))
    m.fit(data, None, ctx)
    return m


@pytest.fixture(scope="module")
def cell() -> tuple[Any, Capped, Capped, list[Capped], RunContext]:
    ds = load_dataset("synthetic", n_users=150, n_items=90, n_interactions=3000)
    fs = make_forget_split(split_dataset(ds, seed=0), "random", 0.1, seed=0)
    ctx = RunContext(seed=0, threads=1)
    refs = [_fit(fs.retain, ctx.child(f"ref{j}")) for j in range(3)]
    return (fs, _fit(fs.train, ctx.child("original")), _fit(fs.retain, ctx.child("unl")),
            refs, ctx)


def _limit(models: list[Capped], n: int | None) -> None:
    for m in models:
        m.limit = n
    Capped.limit = n  # shadows are clones: they inherit the class attribute


def _same(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys()
    bad = {k: (a[k], b[k]) for k in a
           if not (a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])))}
    assert not bad, bad


def test_cap_lowers_every_default_and_is_restored() -> None:
    assert users_per_batch(1024) == 1024
    with max_batch_users(B):
        assert users_per_batch(1024) == B and users_per_batch(3) == 3
    assert users_per_batch(512) == 512
    with pytest.raises(ValueError):
        with max_batch_users(0):
            pass


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_evaluator_scores_at_most_b_users_and_matches_unbatched(cell: Any) -> None:
    fs, original, unlearned, refs, ctx = cell
    models = [original, unlearned, *refs]
    cfg = EvaluatorConfig(ks=(10, 20), bootstrap=20, neighbours_k=40, svd_dim=8,
                          mia_topk=20, shadow_epochs=5, mio=True)
    assert fs.train.n_users > 10 * B

    def run() -> tuple[dict[str, float], dict[str, float]]:
        cellres = evaluate_cell(fs, original, unlearned, refs, ctx.child("eval"), config=cfg)
        ref = evaluate_reference(fs, original, fs.train, ctx.child("eval"), cfg)
        return cellres.metrics, ref.metrics

    _limit(models, None)
    whole = run()  # every pass in one batch: fewer users than any default batch size
    _limit(models, B)
    try:
        with pytest.raises(AssertionError, match="at once"):
            run()  # without the cap the defaults ask for more than B users
        with max_batch_users(B):
            batched = run()
    finally:
        _limit(models, None)
    for a, b in zip(whole, batched):
        _same(a, b)
    assert "completeness.mia_auc" in batched[0] and "completeness.calibrated" in batched[0]
    assert "completeness.umia_auc" in batched[0] and "completeness.mio_auc" in batched[0]


def test_mia_features_and_probe_scores_match_unbatched(cell: Any) -> None:
    fs, original, *_ = cell
    users = np.unique(fs.train.user)
    vecs = np.random.default_rng(0).normal(size=(fs.train.n_items, 5))
    whole = user_features(original, fs.train, users, vecs, 20)
    probe = score_features(original, fs.train, 16)
    original.limit = B
    try:
        with max_batch_users(B):
            np.testing.assert_array_equal(user_features(original, fs.train, users, vecs, 20),
                                          whole)
            np.testing.assert_array_equal(score_features(original, fs.train, 16), probe)
    finally:
        original.limit = None
