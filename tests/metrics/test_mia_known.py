"""Known answers for the MIA's numeric core (issue 17): AUC / TPR at low FPR against an
independent Mann-Whitney count and threshold sweep, the per-user calibrated pair score by
hand, and the published key names and values of the interaction attack. No training."""

from __future__ import annotations

import numpy as np
import pytest

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.mia import calibrated_pair_scores, interaction_mia, put_stats, roc_stats
from tests.metrics._fixed import Fixed


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def _tpr_at(y: np.ndarray, s: np.ndarray, a: float) -> float:
    best = 0.0
    for thr in np.unique(s):
        fpr = np.mean(s[y == 0] >= thr)
        if fpr <= a:
            best = max(best, float(np.mean(s[y == 1] >= thr)))
    return best


def test_roc_stats_by_hand() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.5, 0.3, 0.5, 0.2, 0.1, 0.95])
    # positive-negative pairs: .9 beats 3 of 4, .5 beats 2 and ties 1, .3 beats 2 -> 7.5/12
    st = roc_stats(y, s, {"25": 0.25, "0": 0.0, "50": 0.5})
    assert st["auc"] == pytest.approx(7.5 / 12, abs=1e-12)
    assert st["tpr@0"] == 0.0      # the top score is a negative
    assert st["tpr@25"] == pytest.approx(1 / 3)  # threshold .9: FPR 1/4
    assert st["tpr@50"] == 1.0  # threshold .3: FPR 2/4 (.5 and .95)
    assert set(st) == {"auc", "tpr@25", "tpr@0", "tpr@50"}


def test_roc_stats_random_matches_independent() -> None:
    # with tied score groups whose ROC points are collinear (sklearn's drop_intermediate
    # removed the best point at FPR <= 10% here: .096 read instead of .135)
    rng = np.random.default_rng(4)
    y = (rng.random(300) < 0.4).astype(int)
    s = rng.integers(0, 25, 300).astype(float) + y * 3  # ties
    st = roc_stats(y, s, {"1": 0.01, "10": 0.1})
    assert st["auc"] == pytest.approx(_auc(y, s), abs=1e-12)
    assert st["tpr@1"] == pytest.approx(_tpr_at(y, s, 0.01), abs=1e-12)
    assert st["tpr@10"] == pytest.approx(_tpr_at(y, s, 0.1), abs=1e-12)
    assert set(roc_stats(y, s)) == {"auc", "tpr@1fpr", "tpr@0.1fpr"}
    one = roc_stats(np.zeros(4), np.arange(4.0))
    assert all(np.isnan(v) for v in one.values()) and set(one) == {"auc", "tpr@1fpr",
                                                                   "tpr@0.1fpr"}


def _inter(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    u, i = zip(*pairs)
    return Interactions.from_pairs(list(u), list(i), n_users, n_items)


def test_calibrated_pair_scores_by_hand() -> None:
    s = np.array([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 4.0, 0.0], [5.0, 5.0, 5.0, 5.0]])
    pairs = _inter([(0, 3), (1, 2), (0, 0), (2, 1)], 3, 4)
    got = calibrated_pair_scores(Fixed(s), pairs, batch_users=2)
    want = {(0, 3): 6 - 3.0, (1, 2): 4 - 1.0, (0, 0): 1 - 3.0, (2, 1): 0.0}
    expect = [want[(u, i)] for u, i in zip(pairs.user.tolist(), pairs.item.tolist())]
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-12)


def test_interaction_mia_published_values() -> None:
    s_orig = np.array([[9.0, 8.0, 1.0, 0.0], [0.0, 9.0, 1.0, 2.0]])
    s_retr = np.array([[0.0, 1.0, 8.0, 9.0], [9.0, 0.0, 1.0, 2.0]])
    forget = _inter([(0, 0), (0, 1), (1, 1)], 2, 4)
    nonm = _inter([(0, 2), (1, 3), (1, 0)], 2, 4)
    out = interaction_mia({"original": Fixed(s_orig), "retrain": Fixed(s_retr)}, forget, nonm)
    # original: forgotten pairs all above the non-members -> AUC 1; retrain: all below
    y = np.r_[np.ones(3), np.zeros(3)]

    def cal(s: np.ndarray, pr: Interactions) -> np.ndarray:
        return np.array([s[u, i] - s[u].mean() for u, i in zip(pr.user, pr.item)])

    for name, s in (("original", s_orig), ("retrain", s_retr)):
        sc = np.r_[cal(s, forget), cal(s, nonm)]
        assert out[f"interaction_mia_auc.{name}"] == pytest.approx(_auc(y, sc), abs=1e-12)
        assert out[f"interaction_mia_tpr@1fpr.{name}"] == pytest.approx(
            _tpr_at(y, sc, 0.01), abs=1e-12)
    assert out["interaction_mia_auc.original"] == 1.0
    assert out["interaction_mia_auc.retrain"] == 0.0
    assert len(out) == 6


def test_put_stats_names() -> None:
    out: dict[str, float] = {}
    put_stats(out, "user_mia", "unlearned", {"auc": 0.7, "tpr@1fpr": 0.1})
    assert out == {"user_mia_auc.unlearned": 0.7, "user_mia_tpr@1fpr.unlearned": 0.1}
