"""Known answers for the MIA's building blocks that the fast tests did not reach (issue 17,
mutation testing: item vectors, user features, the shadow fit, the attacker training, the
published keys of `run_mia`, MIO's set features and its cross-validated oracle).

Tiny fixed-score models and hand computations; the only training is sklearn's MLP on a few
dozen rows and a memorising stand-in for the shadow model (no torch training).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.mia import (
    UserAttack,
    _fit_quiet,
    fit_shadow,
    item_vectors,
    mio,
    roc_stats,
    run_mia,
    set_features,
    train_user_attack,
    user_features,
)
from tests.metrics._fixed import Fixed


def _inter(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    u, i = zip(*pairs)
    return Interactions.from_pairs(np.array(u), np.array(i), n_users, n_items)


# ---------------------------------------------------------------------- item vectors
def test_item_vectors_reproduce_the_item_gram_matrix() -> None:
    """With d ≥ rank(X), V Σ (the vectors) satisfies (VΣ)(VΣ)ᵀ = XᵀX."""
    x = _inter([(0, 0), (0, 1), (1, 2), (1, 3), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2),
                (3, 3), (4, 2), (4, 3)], 5, 4)
    vecs = item_vectors(x, RunContext(seed=3), dim=64)
    assert vecs.shape == (4, 3)  # d clipped to min(64, n_items − 1, n_users − 1)
    assert vecs.dtype == np.float64
    dense = x.csr().toarray().astype(np.float64)
    assert np.linalg.matrix_rank(dense) == 2
    assert vecs @ vecs.T == pytest.approx(dense.T @ dense, abs=1e-5)  # randomized SVD
    # d < rank: the best rank-1 approximation of the Gram matrix (top eigenpair)
    w, v = np.linalg.eigh(dense.T @ dense)
    one = item_vectors(x, RunContext(seed=3), dim=1)
    assert one.shape == (4, 1)
    assert one @ one.T == pytest.approx(np.outer(v[:, -1], v[:, -1]) * w[-1], abs=1e-4)
    again = item_vectors(x, RunContext(seed=3), dim=64)
    assert np.array_equal(vecs, again)
    # fewer users than items: d is capped by n_users − 1 (3 users, 6 items → 2, not 5)
    few = _inter([(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 0)], 3, 6)
    assert item_vectors(few, RunContext(seed=3), dim=64).shape == (6, 2)


# ---------------------------------------------------------------------- user features
def test_user_features_by_hand() -> None:
    """centroid(own items) − centroid(top-k items outside the user's own)."""
    vecs = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [4.0, 0.0], [0.0, 8.0]])
    own = _inter([(0, 0), (0, 1), (1, 2)], 2, 5)
    scores = np.array([[9.0, 8.0, 1.0, 3.0, 2.0],    # own {0, 1}: top-2 others {3, 4}
                       [0.0, 5.0, 9.0, 4.0, 1.0]])   # own {2}: top-2 others {1, 3}
    f = user_features(Fixed(scores), own, np.array([0, 1]), vecs, k=2, batch_users=1)
    want = np.array([[0.5, 0.5], [2.0, 2.0]]) - np.array([[2.0, 4.0], [2.0, 0.5]])
    assert f == pytest.approx(want, abs=1e-12)
    # one batch of both users: the same features
    assert np.array_equal(user_features(Fixed(scores), own, np.array([0, 1]), vecs, k=2), f)
    # a user with no own items: only the (negated) recommendation centroid
    g = user_features(Fixed(scores), _inter([(0, 0)], 2, 5), np.array([1]), vecs, k=1)
    assert g == pytest.approx(-vecs[[2]], abs=1e-12)


# ---------------------------------------------------------------------- shadow fit
class _Template:
    """Records what the shadow is fitted with; `clone()` gives a fresh recorder."""

    def __init__(self, accepts_epochs: bool = True) -> None:
        self.accepts_epochs = accepts_epochs
        self.calls: list[dict[str, Any]] = []

    def clone(self) -> _Template:
        return _Template(self.accepts_epochs)

    def fit(self, data: Interactions, valid: Interactions | None, ctx: RunContext,
            **kw: Any) -> None:
        if kw and not self.accepts_epochs:
            raise TypeError("fit() got an unexpected keyword argument 'epochs'")
        self.calls.append({"data": data, "valid": valid, "path": ctx.path, **kw})


def test_fit_shadow_restricts_validation_to_its_users_and_passes_the_budget() -> None:
    data = _inter([(0, 0), (0, 1), (2, 2)], 4, 4)
    valid = _inter([(0, 3), (1, 3), (2, 0), (3, 1)], 4, 4)
    t = _Template()
    shadow: Any = fit_shadow(t, data, valid, RunContext(seed=0).child("s"), epochs=3)
    assert shadow is not t and not t.calls  # a clone is fitted, never the template
    [call] = shadow.calls
    assert call["data"] is data and call["epochs"] == 3 and call["path"] == ("s",)
    assert sorted(zip(call["valid"].user, call["valid"].item)) == [(0, 3), (2, 0)]
    # no budget: no keyword; no validation user in the shadow's data: no validation set
    [call] = fit_shadow(t, data, _inter([(1, 0)], 4, 4), RunContext(seed=0)).calls  # type: ignore[attr-defined]
    assert call["valid"] is None and "epochs" not in call
    [call] = fit_shadow(t, data, None, RunContext(seed=0)).calls  # type: ignore[attr-defined]
    assert call["valid"] is None
    # a model without the `epochs=` keyword is fitted with its own budget
    [call] = fit_shadow(_Template(False), data, None, RunContext(seed=0), 5).calls  # type: ignore[attr-defined]
    assert "epochs" not in call
    # without a budget, and in the fallback, the data, its validation rows and the context
    # still reach the fit
    for template, budget in ((_Template(), None), (_Template(False), 5)):
        [call] = fit_shadow(template, data, valid, RunContext(seed=0).child("t"),  # type: ignore[attr-defined]
                            budget).calls
        assert call["data"] is data and call["path"] == ("t",) and "epochs" not in call
        assert sorted(zip(call["valid"].user, call["valid"].item)) == [(0, 3), (2, 0)]


def test_fit_quiet_silences_only_convergence_warnings() -> None:
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = _fit_quiet(MLPClassifier((4,), max_iter=1, random_state=0), x, y)
    assert clf.n_iter_ == 1 and clf.predict_proba(x).shape == (40, 2)
    with pytest.warns(ConvergenceWarning):  # the filter does not leak out of the call
        MLPClassifier((4,), max_iter=1, random_state=0).fit(x, y)


# ---------------------------------------------------------------------- attacker training
class _Memoriser:
    """A shadow stand-in that recommends by item co-occurrence within its own training data:
    a trained user's recommendations sit next to their items, an unseen user's are the
    lowest item indices (all-zero scores)."""

    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.fitted_on: Interactions | None = None

    def clone(self) -> _Memoriser:
        return _Memoriser()

    def fit(self, data: Interactions, valid: Interactions | None, ctx: RunContext,
            **kw: Any) -> None:
        self.fitted_on = data
        self.x = data.csr().toarray().astype(np.float64)

    def score(self, users: np.ndarray) -> torch.Tensor:
        assert self.x is not None
        x = self.x[np.asarray(users)]
        return torch.as_tensor(x @ self.x.T @ self.x)


def _blocks(n_users: int = 40, n_items: int = 30, seed: int = 0) -> Interactions:
    """Users in 3 taste blocks of 10 items, 6 items each from their block."""
    rng = np.random.default_rng(seed)
    pairs = []
    for u in range(n_users):
        block = u % 3
        for i in rng.choice(10, 6, replace=False):
            pairs.append((u, block * 10 + int(i)))
    return _inter(pairs, n_users, n_items)


def test_train_user_attack_shadow_split_and_strength() -> None:
    retain = _blocks()
    ctx = RunContext(seed=7)
    att = train_user_attack(_Memoriser(), retain, retain, ctx, k=5, svd_dim=4)
    users = retain.active_users()
    members = att.shadow_users
    assert len(members) == len(users) // 2 and np.array_equal(members, np.sort(members))
    assert set(members) < set(users)
    fitted = att.shadow.fitted_on
    assert set(np.unique(fitted.user)) == set(members)  # the shadow saw its members only
    assert len(fitted) == int(retain.users_mask(members).sum())
    assert att.vecs.shape == (30, 4) and att.k == 5
    assert att.clf.n_features_in_ == 4
    # the memoriser's members and non-members look different: the attacker separates them
    non = np.setdiff1d(users, members)
    p_mem = att.member_scores(att.shadow, retain, members)
    p_non = att.member_scores(att.shadow, retain, non)
    assert roc_stats(np.r_[np.ones(len(p_mem)), np.zeros(len(p_non))],
                     np.r_[p_mem, p_non])["auc"] > 0.9
    assert 0.75 < att.shadow_auc <= 1.0  # held-out quarter of the shadow's users
    again = train_user_attack(_Memoriser(), retain, retain, ctx, k=5, svd_dim=4)
    assert np.array_equal(again.shadow_users, members)
    assert np.array_equal(again.member_scores(att.shadow, retain, users),
                          att.member_scores(att.shadow, retain, users))
    other = train_user_attack(_Memoriser(), retain, retain, RunContext(seed=8), k=5, svd_dim=4)
    assert not np.array_equal(other.shadow_users, members)  # the split follows the seed


def test_train_user_attack_needs_eight_users() -> None:
    few = _inter([(u, u) for u in range(7)], 7, 10)
    with pytest.raises(ConfigError, match="≥8 retained users, got 7"):
        train_user_attack(_Memoriser(), few, few, RunContext(seed=0))
    eight = _inter([(u, u) for u in range(8)] + [(u, u + 1) for u in range(8)], 8, 10)
    assert len(train_user_attack(_Memoriser(), eight, eight, RunContext(seed=0), k=3,
                                 svd_dim=2).shadow_users) == 4


# ---------------------------------------------------------------------- run_mia's keys
class _FirstFeature:
    """An attacker whose membership probability is the logistic of the first feature."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-x[:, 0]))
        return np.c_[1 - p, p]


def test_run_mia_publishes_each_model_against_the_last_reference() -> None:
    rng = np.random.default_rng(1)
    n_users, n_items = 12, 9
    train = _inter([(u, int(i)) for u in range(n_users)
                    for i in rng.choice(n_items, 3, replace=False)], n_users, n_items)
    forget = train.subset(train.users_mask(np.arange(6)))
    retain = train.subset(~train.users_mask(np.arange(6)))
    holdout = _inter([(u, int(np.setdiff1d(np.arange(n_items), train.item[train.user == u])[0]))
                      for u in range(6)], n_users, n_items)
    models = {n: Fixed(rng.normal(size=(n_users, n_items)))
              for n in ("original", "unlearned", "r0", "r1")}
    vecs = rng.normal(size=(n_items, 2))
    attack = UserAttack(_FirstFeature(), vecs, 0.625, 3)  # type: ignore[arg-type]
    out = run_mia(models["original"], models["unlearned"], [models["r0"], models["r1"]],
                  train, retain, forget, holdout, RunContext(seed=0), attack=attack)
    names = ("original", "unlearned", "retrain")
    stats = ("auc", "tpr@1fpr", "tpr@0.1fpr")
    assert set(out) == ({f"{a}_{s}.{n}" for a in ("mia", "interaction_mia") for s in stats
                         for n in names}
                        | {"interaction_mia_auc_gap", "mia_auc_gap", "mia_shadow_auc"})
    assert out["mia_shadow_auc"] == 0.625
    users = np.arange(6)

    def user_auc(pos_model: object, neg_model: object) -> float:
        pos = attack.member_scores(pos_model, forget, users)
        neg = attack.member_scores(neg_model, forget, users)
        return roc_stats(np.r_[np.ones(6), np.zeros(6)], np.r_[pos, neg])["auc"]

    # the positives of "retrain" are scored under r0, every negative under r1 (the last
    # reference): a model other than the positives'
    for name, m in (("original", "original"), ("unlearned", "unlearned"), ("retrain", "r0")):
        assert out[f"mia_auc.{name}"] == pytest.approx(user_auc(models[m], models["r1"]))
    assert out["mia_auc.retrain"] != pytest.approx(user_auc(models["r0"], models["r0"]))
    assert out["mia_auc_gap"] == pytest.approx(out["mia_auc.unlearned"]
                                               - out["mia_auc.retrain"], abs=1e-15)
    assert out["interaction_mia_auc_gap"] == pytest.approx(
        out["interaction_mia_auc.unlearned"] - out["interaction_mia_auc.retrain"], abs=1e-15)
    only = run_mia(models["original"], models["unlearned"], [models["r0"], models["r1"]],
                   train, retain, forget, holdout, RunContext(seed=0), user_level=False)
    assert set(only) == {k for k in out if k.startswith("interaction_mia")}
    assert all(only[k] == out[k] for k in only)


# ---------------------------------------------------------------------- MIO
def test_set_features_by_hand() -> None:
    scores = np.array([[4.0, 3.0, 2.0, 1.0, 0.0],
                       [0.0, 1.0, 1.0, 5.0, 2.0],
                       [1.0, 1.0, 1.0, 1.0, 1.0]])
    pairs = _inter([(0, 0), (0, 3), (1, 1), (1, 2), (1, 3)], 3, 5)
    f = set_features(Fixed(scores), pairs, np.array([0, 1, 2]))
    # percentiles (#lower + ½ #tied others) / 4; z = (s − mean) / sd (n − 1)
    p0, p1 = np.array([4, 1]) / 4, np.array([1.5, 1.5, 4]) / 4
    sd0, sd1 = np.std(scores[0], ddof=1), np.std(scores[1], ddof=1)
    z0 = (np.array([4.0, 1.0]) - 2.0) / sd0
    z1 = (np.array([1.0, 1.0, 5.0]) - 1.8) / sd1
    want0 = [p0.mean(), np.median(p0), np.quantile(p0, 0.25), p0.min(), z0.mean(),
             np.quantile(z0, 0.75)]
    want1 = [p1.mean(), np.median(p1), np.quantile(p1, 0.25), p1.min(), z1.mean(),
             np.quantile(z1, 0.75)]
    assert f.shape == (3, 6)
    assert f[0] == pytest.approx(want0, abs=1e-12)
    assert f[1] == pytest.approx(want1, abs=1e-12)
    assert np.isnan(f[2]).all()  # no pair of user 2: its row is missing, in user order


def _mio_data(n_users: int = 30, n_items: int = 40) -> tuple[Interactions, Interactions]:
    rng = np.random.default_rng(2)
    f, h = [], []
    for u in range(n_users):
        items = rng.choice(n_items, 6, replace=False)
        f += [(u, int(i)) for i in items[:3]]
        h += [(u, int(i)) for i in items[3:]]
    return _inter(f, n_users, n_items), _inter(h, n_users, n_items)


def test_mio_reads_a_memorising_model_and_not_a_blind_one() -> None:
    forget, holdout = _mio_data()
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(30, 40))
    memo = noise.copy()
    memo[forget.user, forget.item] += 4.0  # the trained items on top
    models: dict[str, object] = {"original": Fixed(memo), "unlearned": Fixed(noise),
              "retrain": Fixed(rng.normal(size=(30, 40)))}
    out = mio(models, forget, holdout, RunContext(seed=0))
    assert set(out) == {f"mio_{s}.{n}" for s in ("auc", "acc") for n in models}
    assert out["mio_auc.original"] > 0.95 and out["mio_acc.original"] > 0.9
    assert abs(out["mio_auc.unlearned"] - 0.5) < 0.25
    assert abs(out["mio_auc.retrain"] - 0.5) < 0.25
    assert out == mio(models, forget, holdout, RunContext(seed=0))  # seeded
    # trained on the unlearned model's outputs the oracle learns nothing to transfer
    flipped = mio(models, forget, holdout, RunContext(seed=0), train_on="unlearned")
    assert flipped["mio_auc.original"] != out["mio_auc.original"]


def test_mio_needs_two_users_per_fold() -> None:
    forget, holdout = _mio_data(n_users=9)
    models: dict[str, object] = {"original": Fixed(np.zeros((9, 40)))}
    assert mio(models, forget, holdout, RunContext(seed=0), folds=5) == {}
    assert set(mio(models, forget, holdout, RunContext(seed=0), folds=4)) == {
        "mio_auc.original", "mio_acc.original"}
    # only users with both a forgotten and a held-out set count
    short = holdout.subset(holdout.users_mask(np.arange(7)))
    assert mio(models, forget, short, RunContext(seed=0), folds=4) == {}
