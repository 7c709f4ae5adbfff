"""Attribute-inference attack, known answers: hand-computed fold scores, the protocol's
folds / seeds / interval re-derived in the test with a stub attacker, the attacker panel's
hyperparameters, `balance`, `panel_max`, `AttackScore` and the adversary features."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_info, threadpool_limits

import cure4rec.metrics.attribute_attack as aa
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.batching import max_batch_users

# Student t quantiles t_{0.975, df} (printed tables: 4.303, 3.182, 2.776)
T975 = {2: 4.302652729749, 3: 3.182446305284, 4: 2.776445105198}


def _auc(pos: np.ndarray, s: np.ndarray) -> float:
    """AUC by its definition: P(score of a positive > score of a negative), ties count 1/2."""
    p, n = s[pos], s[~pos]
    return float(((p[:, None] > n[None]).sum() + 0.5 * (p[:, None] == n[None]).sum())
                 / (len(p) * len(n)))


# ------------------------------------------------------------------ AttackScore, panel_max
def _score(name: str, auc: float, **kw: Any) -> aa.AttackScore:
    return aa.AttackScore(name, auc, 0.01, 0.6, 0.02, 0.55, 0.03, n_classes=4,
                          n_per_class=7, **kw)


def test_attack_score_defaults_chance_and_flat_dict() -> None:
    s = _score("gb", 0.7)
    assert np.isnan(s.auc_low) and np.isnan(s.auc_high) and np.isnan(s.auc_repeat_std)
    assert (s.n_users, s.chance_auc, s.repeats) == (0, 0.5, 1)
    assert s.chance_balanced_accuracy == 0.25
    full = _score("gb", 0.7, auc_low=0.65, auc_high=0.75, n_users=28, chance_auc=0.5,
                  repeats=3, auc_repeat_std=0.004)
    assert full.as_dict() == {
        "gb/auc": 0.7, "gb/auc_std": 0.01, "gb/auc_low": 0.65, "gb/auc_high": 0.75,
        "gb/balanced_accuracy": 0.6, "gb/balanced_accuracy_std": 0.02,
        "gb/f1": 0.55, "gb/f1_std": 0.03, "gb/chance_auc": 0.5,
        "gb/auc_repeat_std": 0.004, "gb/chance_balanced_accuracy": 0.25}


def test_panel_max_largest_auc_first_on_ties_and_empty_panel() -> None:
    a, b, c = _score("lr", 0.6), _score("mlp", 0.8), _score("gb", 0.7)
    assert aa.panel_max({"lr": a, "mlp": b, "gb": c}) is b
    tie1, tie2 = _score("svm", 0.8), _score("knn", 0.8)
    assert aa.panel_max({"svm": tie1, "knn": tie2, "lr": a}) is tie1
    assert aa.panel_max({"knn": tie2, "svm": tie1}) is tie2
    assert aa.panel_max({"lr": a}) is a
    with pytest.raises(ConfigError, match=r"^empty attacker panel$"):
        aa.panel_max({})


# ------------------------------------------------------------------ the attacker panel
def test_make_builds_the_documented_panel() -> None:
    lr = aa._make("lr", 11)
    assert isinstance(lr, Pipeline) and len(lr.steps) == 2
    assert isinstance(lr[0], StandardScaler) and isinstance(lr[1], LogisticRegression)
    assert (lr[1].C, lr[1].max_iter) == (1.0, 2000)

    mlp = aa._make("mlp", 12)
    assert isinstance(mlp, Pipeline) and len(mlp.steps) == 2 and isinstance(mlp[0], StandardScaler)
    m = mlp[1]
    assert isinstance(m, MLPClassifier)
    assert (m.hidden_layer_sizes, m.alpha, m.max_iter, m.learning_rate_init, m.random_state) \
        == ((100,), 1.0, 500, 0.01, 12)

    gb = aa._make("gb", 13)
    assert isinstance(gb, HistGradientBoostingClassifier)
    assert (gb.max_bins, gb.random_state) == (32, 13)
    assert gb.get_params() == HistGradientBoostingClassifier(max_bins=32,
                                                             random_state=13).get_params()

    svm = aa._make("svm", 14)
    assert isinstance(svm, Pipeline) and len(svm.steps) == 2 and isinstance(svm[0], StandardScaler)
    s = svm[1]
    assert isinstance(s, SVC)
    assert (s.kernel, s.C, s.gamma, s.random_state) == ("rbf", 1.0, "scale", 14)

    knn = aa._make("knn", 15)
    assert isinstance(knn, Pipeline) and len(knn.steps) == 2 and isinstance(knn[0], StandardScaler)
    assert isinstance(knn[1], KNeighborsClassifier) and knn[1].n_neighbors == 15

    with pytest.raises(ConfigError,
                       match=r"^unknown attacker 'xgb'; use one of lr, mlp, gb, svm, knn$"):
        aa._make("xgb", 0)


# ------------------------------------------------------------------ balance
def test_balance_known_draw_and_edge_cases() -> None:
    y = np.array([2, 0, 0, -1, 2, 1, 0, 2, 1, -3, 2, 0, 2])
    got = aa.balance(y, np.random.default_rng(5))
    # the definition, drawn from the same stream: each class (ascending) picks 2 without
    # replacement; the union sorted
    rng = np.random.default_rng(5)
    want = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 2, replace=False)
                                   for c in (0, 1, 2)]))
    assert got.tolist() == want.tolist()
    assert np.bincount(y[got]).tolist() == [2, 2, 2]
    assert sorted(got.tolist()) == got.tolist() and len(set(got.tolist())) == 6
    assert set(got.tolist()) >= {5, 8}   # class 1 is the smallest: both of its users
    # a class of 4 users balanced against another of 4: every user once
    y4 = np.array([0, 1, 1, 0, 1, 0, 1, 0])
    assert aa.balance(y4, np.random.default_rng(0)).tolist() == list(range(8))
    for none in (np.array([-1, -2, -1]), np.zeros(0, dtype=np.int64)):
        out = aa.balance(none, np.random.default_rng(0))
        assert out.shape == (0,) and out.dtype == np.int64


# ------------------------------------------------------------------ _class_scores
def _toy(k: int = 2, n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    return rng.normal(size=(n, 3)) + y[:, None], y


@pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning")
def test_class_scores_probabilities_or_the_svm_decision_function() -> None:
    x, y = _toy()
    lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    np.testing.assert_array_equal(aa._class_scores(lr, x), lr.predict_proba(x))
    knn = KNeighborsClassifier(3).fit(x, y)   # no decision function at all
    np.testing.assert_array_equal(aa._class_scores(knn, x), knn.predict_proba(x))
    for svm in (make_pipeline(StandardScaler(), SVC()),
                make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)),
                SVC(probability=True, random_state=0)):
        svm.fit(x, y)
        d = svm.decision_function(x)
        assert d.shape == (30,)
        got = aa._class_scores(svm, x)
        np.testing.assert_array_equal(got, np.column_stack([-d, d]))
    x3, y3 = _toy(3)
    svm3 = make_pipeline(StandardScaler(), SVC()).fit(x3, y3)
    d3 = svm3.decision_function(x3)
    assert d3.shape == (30, 3)
    np.testing.assert_array_equal(aa._class_scores(svm3, x3), d3)


# ------------------------------------------------------------------ _fold_scores by hand
class _Fixed:
    """A classifier whose class scores are its features (column i: class `classes_[i]`)."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Fixed:
        self.classes_ = np.unique(y)
        self.threads = [i["num_threads"] for i in threadpool_info()]
        warnings.warn("did not converge", ConvergenceWarning, stacklevel=1)
        warnings.warn("a user warning", UserWarning, stacklevel=1)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)


def test_fold_scores_binary_by_hand() -> None:
    clf = _Fixed()
    y_te = np.array([3, 3, 7, 7, 7])
    sc = np.array([[0.3, 0.1], [0.2, 0.6], [0.5, 0.4], [0.5, 0.8], [0.95, 0.9]])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        auc, bacc, f1 = aa._fold_scores(clf, np.zeros((4, 2)), np.array([3, 7, 3, 7]), sc,
                                        y_te, 2)
    # positives (class 7, the second class) 0.4, 0.8, 0.9 vs negatives 0.1, 0.6: 5 of 6 pairs
    assert auc == pytest.approx(5 / 6, abs=1e-12)
    # argmax predictions 3, 7, 3, 7, 3: recalls 1/2 and 1/3; F1 of each class 2/5
    assert bacc == pytest.approx(5 / 12, abs=1e-12)
    assert f1 == pytest.approx(2 / 5, abs=1e-12)
    cats = [w.category for w in seen]
    assert ConvergenceWarning not in cats and UserWarning in cats  # only convergence muted
    assert clf.threads and all(t == 1 for t in clf.threads)       # fitted single-threaded
    with threadpool_limits(2):                          # whatever the caller's setting
        clf2 = _Fixed()
        with pytest.warns(UserWarning):
            aa._fold_scores(clf2, np.zeros((4, 2)), np.array([3, 7, 3, 7]), sc, y_te, 2)
        outside = [i["num_threads"] for i in threadpool_info()]
    assert clf2.threads and all(t == 1 for t in clf2.threads)
    assert 2 in outside                                 # the limit is the fit's alone


def test_fold_scores_multiclass_one_vs_rest_by_hand() -> None:
    y_te = np.array([2, 2, 5, 5, 9, 9])
    sc = np.array([[0.9, 0.05, 0.0], [0.3, 0.6, 0.1], [0.4, 0.5, 0.2],
                   [0.1, 0.8, 0.05], [0.2, 0.1, 0.7], [0.5, 0.3, 0.15]])
    with pytest.warns(UserWarning, match="a user warning"):
        auc, bacc, f1 = aa._fold_scores(_Fixed(), np.zeros((3, 3)), np.array([9, 2, 5]), sc,
                                        y_te, 3)
    # per class (own column): 6/8, 7/8, 7/8
    assert auc == pytest.approx(5 / 6, abs=1e-12)
    # predictions 2, 5, 5, 5, 9, 2: recalls 1/2, 1, 1/2; F1 1/2, 4/5, 2/3
    assert bacc == pytest.approx(2 / 3, abs=1e-12)
    assert f1 == pytest.approx(59 / 90, abs=1e-12)


# ------------------------------------------------------------------ the protocol, stubbed
class _Stub:
    """An attacker that scores class i by feature column 1 + i (column 0 is the user id),
    logging what it is built with and what it sees."""

    def __init__(self, name: str, seed: int, log: list[dict[str, Any]]) -> None:
        self.name, self.seed, self.log = name, seed, log

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Stub:
        self.classes_ = np.unique(y)
        self.log.append({"name": self.name, "seed": self.seed, "dtype": x.dtype,
                         "train": x[:, 0].astype(int).tolist(), "y_train": y.tolist()})
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.log[-1]["test"] = x[:, 0].astype(int).tolist()
        return x[:, 1:1 + len(self.classes_)]


@pytest.fixture
def stub_log(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = []
    monkeypatch.setattr(aa, "_make", lambda name, seed: _Stub(name, seed, log))
    return log


def _features(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """[uid, score of class 0, ..., score of class k-1]: noisy, so every fold differs."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y[y >= 0])
    sc = rng.normal(size=(len(y), k))
    for i, c in enumerate(classes):
        sc[:, i] += 0.8 * (y == c)
    return np.column_stack([np.arange(len(y)), sc]).astype(np.float32)


def _expected(x: np.ndarray, y: np.ndarray, users: np.ndarray, seed: int, folds: int,
              repeats: int) -> tuple[np.ndarray, list[list[int]]]:
    """[folds*repeats, 3] fold scores by the protocol's definition, and each fold's test users."""
    x, y = x[users].astype(np.float64), y[users]
    classes = np.unique(y)
    rows, tests = [], []
    for r in range(repeats):
        rs = RunContext(seed=seed).child(f"attack-repeat{r}").derived_seed() % 2**31
        for _tr, te in StratifiedKFold(folds, shuffle=True, random_state=rs).split(x, y):
            sc = x[te, 1:1 + len(classes)]
            if len(classes) == 2:
                auc = _auc(y[te] == classes[1], sc[:, 1])
            else:
                auc = np.mean([_auc(y[te] == c, sc[:, i]) for i, c in enumerate(classes)])
            pred = classes[sc.argmax(1)]
            rows.append([auc, balanced_accuracy_score(y[te], pred),
                         f1_score(y[te], pred, average="macro")])
            tests.append(users[te].tolist())
    return np.asarray(rows), tests


def _check(res: aa.AttackScore, s: np.ndarray, folds: int, repeats: int) -> None:
    auc, sd = s[:, 0].mean(), np.sqrt(np.mean((s[:, 0] - s[:, 0].mean()) ** 2))
    half = T975[folds - 1] * sd / np.sqrt(folds)
    assert res.auc == pytest.approx(auc, abs=1e-12)
    assert res.auc_std == pytest.approx(sd, abs=1e-12) and sd > 0.01
    assert res.auc_low == pytest.approx(auc - half, abs=1e-9)
    assert res.auc_high == pytest.approx(auc + half, abs=1e-9)
    for j, (m, v) in enumerate([(res.balanced_accuracy, res.balanced_accuracy_std),
                                (res.f1, res.f1_std)], start=1):
        assert m == pytest.approx(s[:, j].mean(), abs=1e-12)
        assert v == pytest.approx(s[:, j].std(), abs=1e-12)
    means = [s[r * folds:(r + 1) * folds, 0].mean() for r in range(repeats)]
    if repeats > 1:
        rep = np.sqrt(sum((m - np.mean(means)) ** 2 for m in means) / (repeats - 1))
        assert res.auc_repeat_std == pytest.approx(rep, abs=1e-12) and rep > 0
    else:
        assert np.isnan(res.auc_repeat_std)
    assert res.repeats == repeats and res.chance_auc == 0.5


def test_binary_attack_folds_seeds_and_interval_by_definition(
        stub_log: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    y = np.array([0, 2] * 20 + [-1, -1, -2, -1] + [2] * 6)
    x = _features(y, 2, seed=3)
    users = np.flatnonzero(y >= 0)
    with caplog.at_level(logging.INFO, logger="cure4rec.metrics.attribute_attack"):
        res = aa.attribute_attack(x, y, RunContext(seed=7), attackers=("a", "b"), folds=4,
                                  repeats=2)
    s, tests = _expected(x, y, users, seed=7, folds=4, repeats=2)
    assert list(res) == ["a", "b"]
    for name in ("a", "b"):
        r = res[name]
        assert r.attacker == name
        _check(r, s, folds=4, repeats=2)
        assert (r.n_classes, r.n_per_class, r.n_users) == (2, 20, 46)
        fits = [e for e in stub_log if e["name"] == name]
        assert [e["test"] for e in fits] == tests        # same folds for every attacker
        want_seeds = [RunContext(seed=7).child(f"attack-{name}-repeat{k}").child("model")
                      .derived_seed() % 2**31 for k in range(2) for _ in range(4)]
        assert [e["seed"] for e in fits] == want_seeds
        for e in fits:
            assert e["dtype"] == np.float64
            assert not set(e["train"]) & set(e["test"])
            assert sorted(e["train"] + e["test"]) == users.tolist()
            assert e["y_train"] == y[e["train"]].tolist()
    msgs = [rec.getMessage() for rec in caplog.records if rec.name == aa.logger.name]
    assert msgs == [f"attack {n}: AUC {res[n].auc:.3f} [{res[n].auc_low:.3f}, "
                    f"{res[n].auc_high:.3f}]" for n in ("a", "b")]


def test_multiclass_attack_by_definition_single_repeat(stub_log: list[dict[str, Any]]) -> None:
    y = np.array([1, 4, 6] * 9 + [4, 4, -1])
    x = _features(y, 3, seed=4)
    users = np.flatnonzero(y >= 0)
    res = aa.attribute_attack(x, y, RunContext(seed=2), attackers=("c",), folds=3,
                              repeats=1)["c"]
    s, tests = _expected(x, y, users, seed=2, folds=3, repeats=1)
    _check(res, s, folds=3, repeats=1)
    assert (res.n_classes, res.n_per_class, res.n_users) == (3, 9, 29)
    assert [e["test"] for e in stub_log] == tests


def test_defaults_whole_panel_five_folds_three_repeats_unbalanced(
        stub_log: list[dict[str, Any]]) -> None:
    y = np.array([0] * 12 + [1] * 18 + [-1] * 3)
    x = _features(y, 2, seed=5)
    res = aa.attribute_attack(x, y, RunContext(seed=1))
    assert list(res) == list(aa.ATTACKERS)
    s, tests = _expected(x, y, np.arange(30), seed=1, folds=5, repeats=3)
    for name in aa.ATTACKERS:
        _check(res[name], s, folds=5, repeats=3)
        assert (res[name].n_users, res[name].n_per_class) == (30, 12)
        assert [e["test"] for e in stub_log if e["name"] == name] == tests
    assert len(stub_log) == 5 * 15


def test_balanced_keeps_the_seeded_downsample(stub_log: list[dict[str, Any]]) -> None:
    y = np.array([0] * 10 + [1] * 25 + [-1] * 4)
    rng = np.random.default_rng(11)
    y = y[rng.permutation(len(y))]
    x = _features(y, 2, seed=6)
    res = aa.attribute_attack(x, y, RunContext(seed=9), attackers=("d",), folds=5, repeats=1,
                              balanced=True)["d"]
    draw = RunContext(seed=9).child("attack-balance").rng()
    keep = np.sort(np.concatenate([draw.choice(np.flatnonzero(y == c), 10, replace=False)
                                   for c in (0, 1)]))
    s, tests = _expected(x, y, keep, seed=9, folds=5, repeats=1)
    _check(res, s, folds=5, repeats=1)
    assert (res.n_users, res.n_per_class) == (20, 10)
    assert [e["test"] for e in stub_log] == tests


def test_folds_boundary_and_refusals(stub_log: list[dict[str, Any]]) -> None:
    ctx = RunContext(seed=0)
    y = np.array([0] * 5 + [1] * 7)
    res = aa.attribute_attack(_features(y, 2, 0), y, ctx, ("e",), folds=5, repeats=1)
    assert res["e"].n_per_class == 5                    # exactly `folds` users is enough
    cases = [
        (np.zeros(10), np.zeros(10, int), r"^10 feature rows for 10 labels$"),
        (np.zeros((9, 2)), np.zeros(10, int), r"^9 feature rows for 10 labels$"),
        (np.zeros((12, 3)), np.full(12, 3), r"^the attack needs >= 2 classes with >= 5 users "
                                            r"each; got 1 classes, smallest 12$"),
        (np.zeros((6, 3)), np.full(6, -1), r"got 0 classes, smallest 0$"),
        (np.zeros((12, 3)), np.array([0] * 4 + [1] * 8), r"^the attack needs >= 2 classes "
                                                         r"with >= 5 users each; got 2 "
                                                         r"classes, smallest 4$"),
    ]
    for x, lab, msg in cases:
        with pytest.raises(ConfigError, match=msg):
            aa.attribute_attack(x, lab, ctx, ("e",), folds=5, repeats=1)
    with pytest.raises(ConfigError, match=r"with >= 3 users each; got 2 classes, smallest 2$"):
        aa.attribute_attack(np.zeros((7, 2)), np.array([0, 0, 1, 1, 1, 1, 1]), ctx, ("e",),
                            folds=3, repeats=1)


# ------------------------------------------------------------------ adversary features
class _Scores:
    """A model serving a fixed score matrix, logging its calls."""

    def __init__(self, s: np.ndarray) -> None:
        self.s, self.calls, self.grad = s, [], []  # type: ignore[var-annotated]

    def score(self, users: Any) -> torch.Tensor:
        u = np.asarray(users)
        self.calls.append(u.tolist())
        self.grad.append(torch.is_grad_enabled())
        return torch.tensor(self.s[u], dtype=torch.float32, requires_grad=True)


S_TOP = np.array([[8, 7, 6, 5, 4, 3, 2, 1],
                  [1, 2, 3, 4, 5, 6, 7, 8],
                  [5, 1, 8, 2, 7, 3, 6, 4],
                  [0, 9, 0.5, 8, 0.1, 0.2, 0.3, 0.4]], dtype=np.float64)


def test_topk_features_multi_hot_of_the_lists_by_hand() -> None:
    hist = Interactions.from_pairs([0, 1, 1, 3], [0, 7, 6, 1], 4, 8)
    # top-2 outside the history: {1, 2}, {5, 4}, {2, 4}, {3, 2} -> columns items 1..5
    got = aa.topk_features(_Scores(S_TOP), hist, k=2)
    assert got.dtype == np.float32
    assert got.tolist() == [[1, 1, 0, 0, 0], [0, 0, 0, 1, 1], [0, 1, 0, 1, 0], [0, 1, 1, 0, 0]]
    sub = aa.topk_features(_Scores(S_TOP), hist, k=2, users=np.array([3, 2]))
    assert sub.tolist() == [[1, 1, 0], [1, 0, 1]]              # items 2, 3, 4
    model = _Scores(S_TOP)
    rev = aa.topk_features(model, hist, k=2, users=[1, 3])
    assert model.calls == [[1, 3]]                               # only the users asked for
    assert rev.tolist() == [[0, 0, 1, 1], [1, 1, 0, 0]]        # items 2, 3, 4, 5
    sub1 = aa.topk_features(_Scores(S_TOP), hist, k=1, users=[2])
    assert sub1.tolist() == [[1]]


def test_topk_features_default_k_is_twenty() -> None:
    rng = np.random.default_rng(0)
    s = rng.permutation(90).reshape(3, 30).astype(np.float64)
    hist = Interactions.from_pairs([0], [int(np.argmax(s[0]))], 3, 30)
    got = aa.topk_features(_Scores(s), hist)
    masked = s.copy()
    masked[0, np.argmax(s[0])] = -np.inf
    tops = [set(np.argsort(-row)[:20].tolist()) for row in masked]
    cols = sorted(set().union(*tops))
    assert got.shape == (3, len(cols))
    assert got.tolist() == [[float(c in t) for c in cols] for t in tops]


def _train(deg: list[int], n_users: int) -> Interactions:
    users, items = [], []
    for i, d in enumerate(deg):
        users += [u % n_users for u in range(i, i + d)]
        items += [i] * d
    return Interactions.from_pairs(users, items, n_users, len(deg))


def test_score_features_probe_is_most_popular_items_ties_lower_index() -> None:
    deg = [2, 3, 3, 0, 1, 0]
    rng = np.random.default_rng(1)
    s = rng.normal(size=(5, 6))
    model = _Scores(s)
    got = aa.score_features(model, _train(deg, 5), n_probe=3)
    assert got.dtype == np.float64
    want = s.astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(got, want[:, [1, 2, 0]])
    assert model.grad == [False]                                   # scored under no_grad
    every = aa.score_features(_Scores(s), _train(deg, 5), n_probe=6)
    np.testing.assert_array_equal(every, want[:, [1, 2, 0, 4, 3, 5]])  # unseen items too


def test_score_features_many_ties_default_probe_and_batches() -> None:
    n_items = 300
    deg = [(7 * i) % 5 for i in range(n_items)]       # degrees 0..4, 60 items each
    order = sorted(range(n_items), key=lambda i: (-deg[i], i))
    s = np.random.default_rng(2).normal(size=(7, n_items))
    model = _Scores(s)
    got = aa.score_features(model, _train(deg, 7))
    assert got.shape == (7, 256)
    np.testing.assert_array_equal(got, s.astype(np.float32).astype(np.float64)[:, order[:256]])
    assert model.calls == [list(range(7))]
    with max_batch_users(3):
        m3 = _Scores(s)
        capped = aa.score_features(m3, _train(deg, 7), n_probe=10)
    assert m3.calls == [[0, 1, 2], [3, 4, 5], [6]]
    np.testing.assert_array_equal(capped, got[:, :10])


def test_score_features_batches_of_1024_users_and_no_users() -> None:
    s = np.random.default_rng(3).normal(size=(1030, 4))
    model = _Scores(s)
    got = aa.score_features(model, _train([300, 1030, 5, 0], 1030), n_probe=2)
    assert [len(c) for c in model.calls] == [1024, 6]
    np.testing.assert_array_equal(got, s.astype(np.float32).astype(np.float64)[:, [1, 0]])
    empty = Interactions.from_pairs(np.zeros(0, int), np.zeros(0, int), 0, 5)
    none = aa.score_features(_Scores(np.zeros((0, 5))), empty, n_probe=3)
    assert none.shape == (0, 3)


def test_difference_features_after_minus_before_in_float64() -> None:
    before = np.array([[1.0, 2.5], [16777216.0, -1.0]], dtype=np.float32)
    after = np.array([[0.5, 2.5], [16777217.0, 3.0]])
    got = aa.difference_features(before, after)
    assert got.dtype == np.float64
    assert got.tolist() == [[-0.5, 0.0], [1.0, 4.0]]
    back = aa.difference_features(after.astype(np.float32), [[1, 2], [3, 4]])
    assert back.dtype == np.float64 and back.tolist() == [[0.5, -0.5], [3 - 16777216.0, 1.0]]
    with pytest.raises(ConfigError,
                       match=r"^representations differ in shape: \(2, 2\) vs \(2, 3\)$"):
        aa.difference_features(np.zeros((2, 2)), np.zeros((2, 3)))
