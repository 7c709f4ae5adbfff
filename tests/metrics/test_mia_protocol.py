"""The MIA's protocol as published (issue 17, `metrics/mia` mutation survivors): which model
and arguments the shadow attack is trained with, the attacker's architecture and seeds, the
member / non-member split of the shadow users, the held-out strength, the negatives'
reference and the random non-member pairs; MIO's oracle and folds. Each recomputed here
from the definition (docs/metrics.md), with recording stand-ins instead of training.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import cure4rec.metrics.mia as mia
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from tests.metrics._fixed import Fixed
from tests.metrics.test_mia_parts import _blocks, _FirstFeature, _inter, _Memoriser, _mio_data


class _RecordingMLP(MLPClassifier):
    """sklearn's MLP, recording its arguments and every training matrix."""

    made: list[dict[str, Any]] = []
    fitted: list[tuple[np.ndarray, np.ndarray]] = []

    def __init__(self, hidden_layer_sizes=(100,), *, alpha=0.0001, max_iter=200,  # type: ignore[no-untyped-def]
                 random_state=None) -> None:
        super().__init__(hidden_layer_sizes, alpha=alpha, max_iter=max_iter,
                         random_state=random_state)
        _RecordingMLP.made.append({"hidden": hidden_layer_sizes, "alpha": alpha,
                                   "max_iter": max_iter, "random_state": random_state})

    def fit(self, x, y):  # type: ignore[no-untyped-def]
        _RecordingMLP.fitted.append((np.array(x), np.array(y)))
        return super().fit(x, y)


@pytest.fixture
def recording(monkeypatch):  # type: ignore[no-untyped-def]
    _RecordingMLP.made, _RecordingMLP.fitted = [], []
    monkeypatch.setattr(mia, "MLPClassifier", _RecordingMLP)
    return _RecordingMLP


class _Shadow(_Memoriser):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def clone(self) -> _Shadow:
        return _Shadow()

    def fit(self, data, valid, ctx, **kw):  # type: ignore[no-untyped-def]
        self.calls.append({"valid": valid, "path": ctx.path, **kw})
        super().fit(data, valid, ctx)


def test_shadow_attack_protocol(recording) -> None:  # type: ignore[no-untyped-def]
    retain = _blocks(n_users=80, n_items=90)
    valid = _inter([(u, 40 + u % 7) for u in range(80)], 80, 90)
    ctx = RunContext(seed=3)
    att = mia.train_user_attack(_Shadow(), retain, retain, ctx, shadow_epochs=4, valid=valid)
    assert att.k == 100 and att.vecs.shape == (90, 64)  # defaults: k = 100, 64 SVD dims
    assert np.array_equal(att.vecs, mia.item_vectors(retain, ctx.child("mia-svd"), 64))
    users = retain.active_users()
    perm = ctx.child("mia-shadow-split").rng().permutation(users)
    members, non = np.sort(perm[:40]), np.sort(perm[40:])
    assert np.array_equal(att.shadow_users, members)
    (call,) = att.shadow.calls
    assert call["path"] == ctx.child("mia-shadow-model").path and call["epochs"] == 4
    assert set(np.unique(call["valid"].user)) == set(members)  # valid of its members only
    # the attacker: an MLP (32, 8), 500 iterations, seeded from the context, fitted twice
    seed = ctx.child("mia-mlp").derived_seed() % 2**31
    assert recording.made == [{"hidden": (32, 8), "alpha": 0.0001, "max_iter": 500,
                               "random_state": seed}] * 2
    x = np.vstack([mia.user_features(att.shadow, retain, members, att.vecs, 100),
                   mia.user_features(att.shadow, retain, non, att.vecs, 100)])
    y = np.r_[np.ones(40), np.zeros(40)]
    (x_part, y_part), (x_all, y_all) = recording.fitted
    assert np.array_equal(x_all, x) and np.array_equal(y_all, y)  # every shadow user, once
    hold = ctx.child("mia-holdout").rng().random(80) < 0.25
    assert 0 < hold.sum() < 80
    assert np.array_equal(x_part, x[~hold]) and np.array_equal(y_part, y[~hold])
    held = MLPClassifier((32, 8), max_iter=500, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        held.fit(x[~hold], y[~hold])
    assert att.shadow_auc == pytest.approx(roc_auc_score(y[hold],
                                                         held.predict_proba(x[hold])[:, 1]))
    # a given k reaches the features (not only the default)
    recording.fitted.clear()
    att5 = mia.train_user_attack(_Shadow(), retain, retain, ctx, k=5)
    x5 = np.vstack([mia.user_features(att5.shadow, retain, members, att5.vecs, 5),
                    mia.user_features(att5.shadow, retain, non, att5.vecs, 5)])
    assert att5.k == 5 and np.array_equal(recording.fitted[-1][0], x5)
    assert not np.array_equal(x5, x)


def _mia_setting() -> tuple[Interactions, Interactions, Interactions, dict[str, Fixed]]:
    rng = np.random.default_rng(1)
    n_users, n_items = 12, 9
    train = _inter([(u, int(i)) for u in range(n_users)
                    for i in rng.choice(n_items, 3, replace=False)], n_users, n_items)
    forget = train.subset(train.users_mask(np.arange(6)))
    retain = train.subset(~train.users_mask(np.arange(6)))
    models = {n: Fixed(rng.normal(size=(n_users, n_items)))
              for n in ("original", "unlearned", "r0", "r1", "r2")}
    return train, forget, retain, models


def test_run_mia_trains_the_attack_on_the_first_reference(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    train, forget, retain, models = _mia_setting()
    valid = _inter([(6, 0)], 12, 9)
    seen: list[tuple] = []
    attack = mia.UserAttack(_FirstFeature(), np.random.default_rng(0).normal(size=(9, 2)),  # type: ignore[arg-type]
                            0.5, 3)

    def fake_train(*args: Any) -> mia.UserAttack:
        seen.append(args)
        return attack

    monkeypatch.setattr(mia, "train_user_attack", fake_train)
    refs = [models["r0"], models["r1"], models["r2"]]
    ctx = RunContext(seed=0)
    empty = train.subset(np.zeros(len(train), dtype=bool))
    out = mia.run_mia(models["original"], models["unlearned"], refs, train, retain, forget,
                      empty, ctx, k=7, svd_dim=5, shadow_epochs=2, valid=valid)
    ((template, r, v, c, k, d, e, va),) = seen
    assert template is refs[0] and r is retain and v is train and c is ctx
    assert (k, d, e, va) == (7, 5, 2, valid)
    mia.run_mia(models["original"], models["unlearned"], refs, train, retain, forget, empty,
                ctx)
    assert seen[1][4:] == (100, 64, None, None)  # the published defaults
    # negatives: every forgotten user under the LAST reference (r2, not r1)
    users = np.arange(6)
    neg = attack.member_scores(refs[-1], forget, users)
    pos = attack.member_scores(models["original"], forget, users)
    assert out["mia_auc.original"] == pytest.approx(
        roc_auc_score(np.r_[np.ones(6), np.zeros(6)], np.r_[pos, neg]))
    # no held-out pairs: random items the user never trained, drawn from the "mia-pairs" stream
    non = mia.nonmember_pairs(forget, empty, train, ctx.child("mia-pairs").rng())
    assert len(non) and not non.isin(train).any()
    want = mia.interaction_mia({"original": models["original"]}, forget, non)
    assert out["interaction_mia_auc.original"] == want["interaction_mia_auc.original"]


def test_mio_oracle_protocol(recording) -> None:  # type: ignore[no-untyped-def]
    forget, holdout = _mio_data(n_users=10)
    rng = np.random.default_rng(4)
    memo = rng.normal(size=(10, 40))
    memo[forget.user, forget.item] += 0.5  # a weak signal: the AUC is not 1 either way
    models: dict[str, object] = {"original": Fixed(memo)}
    ctx = RunContext(seed=5)
    out = mia.mio(models, forget, holdout, ctx)  # 10 users = 2 per fold: enough
    assert set(out) == {"mio_auc.original", "mio_acc.original"}
    seed = ctx.child("mio-mlp").derived_seed() % 2**31
    assert recording.made == [{"hidden": (100,), "alpha": 1.0, "max_iter": 500,
                               "random_state": seed}] * 5  # one oracle per fold, 5 folds
    fold = ctx.child("mio-folds").rng().permutation(10) % 5
    users = np.arange(10)
    xm = mia.set_features(Fixed(memo), forget, users)
    xn = mia.set_features(Fixed(memo), holdout, users)
    for f, (x, y) in enumerate(recording.fitted):
        tr = fold != f  # trained on the other folds' users only
        n = int(tr.sum())
        assert y.tolist() == [1.0] * n + [0.0] * n
        raw = np.r_[xm[tr], xn[tr]]  # scaled to zero mean, unit sd before the MLP
        assert np.allclose(x, (raw - raw.mean(0)) / raw.std(0), atol=1e-9)
    # out of fold: each user is scored by the oracle of the folds it was not trained in
    prob = np.zeros((2, 10))
    for f in range(5):
        tr, te = fold != f, fold == f
        clf = make_pipeline(StandardScaler(), MLPClassifier((100,), alpha=1.0, max_iter=500,
                                                            random_state=seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(np.vstack([xm[tr], xn[tr]]), np.r_[np.ones(tr.sum()), np.zeros(tr.sum())])
        prob[0, te], prob[1, te] = clf.predict_proba(xm[te])[:, 1], clf.predict_proba(xn[te])[:, 1]
    s = np.r_[prob[0], prob[1]]
    assert out["mio_auc.original"] == pytest.approx(
        roc_auc_score(np.r_[np.ones(10), np.zeros(10)], s), abs=1e-12)
