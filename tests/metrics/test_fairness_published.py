"""The fairness values the evaluator publishes: signed A-IGF, UGF, W1 and CIs by hand.

Ten users, each with one test item placed at a chosen rank by a fixed score matrix, so
each user's NDCG@20 is 1/log2(rank + 1) (0 beyond rank 20). Users 0 and 1 have the most
retained train items (the active, "advantaged" group at `active_fraction=0.2`); their train
items score highest, so the mask matters too. The disadvantaged group is served better
here: A-IGF must come out negative.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_reference
from cure4rec.metrics.fairness import bootstrap_fairness, fairness_report
from cure4rec.metrics.ranking import RankingResult

N_USERS, N_ITEMS = 10, 40
RANKS = [30, 1, 1, 1, 1, 2, 2, 30, 30, 30]  # test item's rank per user
G = 1 / np.log2(3)  # NDCG@20 at rank 2


def _history() -> Interactions:
    users, items = [], []
    for u in range(N_USERS):
        own = [35, 36, 37, 38, 39] if u < 2 else [39]
        users += [u] * len(own)
        items += own
    return Interactions(np.array(users), np.array(items), N_USERS, N_ITEMS)


class _Ranked:
    """Scores that put user u's test item (item u) at rank RANKS[u] among unseen items."""

    def __init__(self, history: Interactions) -> None:
        s = np.zeros((N_USERS, N_ITEMS), dtype=np.float32)
        for u in range(N_USERS):
            seen = set(history.item[history.user == u].tolist())
            others = [i for i in range(N_ITEMS) if i != u and i not in seen]
            order = others[: RANKS[u] - 1] + [u] + others[RANKS[u] - 1:]
            for pos, item in enumerate(order):
                s[u, item] = N_ITEMS - pos
            for item in seen:  # trained items above everything: only the mask hides them
                s[u, item] = 100.0
        self.s = torch.from_numpy(s)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.s[torch.as_tensor(np.asarray(users), dtype=torch.long)]


def _fs() -> SimpleNamespace:
    hist = _history()
    test = Interactions(np.arange(N_USERS), np.arange(N_USERS), N_USERS, N_ITEMS)
    empty = test.subset(np.zeros(N_USERS, dtype=bool))
    # the evaluator ranks with train + validation as history (`ranking_history`)
    return SimpleNamespace(train=hist, retain=hist, valid=empty, holdout_valid=empty,
                           test=test, holdout_test=empty, request=SimpleNamespace(kind="random"))


# advantaged (users 0, 1): {0, 1}; disadvantaged (2..9): {1, 1, 1, G, G, 0, 0, 0}
ADV, DIS = 0.5, (3 + 2 * G) / 8
A_IGF = ADV - DIS                 # ≈ −0.032732: the disadvantaged group is served better
# W1 by the CDFs: F_A − F_D = 0.5 − 3/8 on [0, G), 0.5 − 5/8 on [G, 1)
W1 = 0.125 * G + 0.125 * (1 - G)  # = 0.125


def test_published_a_igf_is_signed_and_matches_hand_values() -> None:
    cfg = EvaluatorConfig(ks=(20,), active_fraction=0.2, bootstrap=0)
    fs = _fs()
    m = evaluate_reference(fs, _Ranked(fs.retain), fs.retain, RunContext(seed=0), cfg).metrics
    assert m["utility.ndcg@20"] == pytest.approx((4 + 2 * G) / 10)
    assert A_IGF == pytest.approx(-0.0327324, abs=1e-6)
    assert m["fairness.a-igf_ndcg@20"] == pytest.approx(A_IGF)
    assert m["fairness.ugf_ndcg@20"] == pytest.approx(-A_IGF)
    assert m["fairness.w1_ndcg@20"] == pytest.approx(W1)
    # bootstrap: 0 → no intervals; the group means are not published; no shards → no shardGF
    assert sorted(k for k in m if k.startswith("fairness.")) == [
        "fairness.a-igf_ndcg@20", "fairness.ugf_ndcg@20", "fairness.w1_ndcg@20"]


def test_published_intervals_are_of_the_signed_gap() -> None:
    cfg = EvaluatorConfig(ks=(20,), active_fraction=0.2, bootstrap=200)
    fs = _fs()
    m = evaluate_reference(fs, _Ranked(fs.retain), fs.retain, RunContext(seed=0), cfg).metrics
    # the advantaged pair {0, 1} resamples to means 0, 0.5, 1: the gap's interval spans
    # both signs, UGF's interval is of |gap| and stays ≥ 0
    assert m["fairness.a-igf_ndcg@20.ci_low"] < 0 < m["fairness.a-igf_ndcg@20.ci_high"]
    assert -1 <= m["fairness.a-igf_ndcg@20.ci_low"] <= A_IGF <= m["fairness.a-igf_ndcg@20.ci_high"] <= 1
    assert 0 <= m["fairness.ugf_ndcg@20.ci_low"] <= m["fairness.ugf_ndcg@20.ci_high"]


RES = RankingResult(np.array([0, 1, 2, 3, 5]), {"ndcg@20": np.array([0.8, 0.6, 0.2, 0.4, 0.0])})
GROUP = np.array([True, True, False, False, False, False])   # users 0, 1 advantaged


def test_fairness_report_every_key_by_hand() -> None:
    assert fairness_report(RES, GROUP) == pytest.approx({
        "a-igf/ndcg@20": 0.5, "ugf/ndcg@20": 0.5, "w1/ndcg@20": 0.5,
        "advantaged/ndcg@20": 0.7, "disadvantaged/ndcg@20": 0.2})
    flipped = fairness_report(RES, ~GROUP)
    assert flipped["a-igf/ndcg@20"] == pytest.approx(-0.5)
    assert flipped["ugf/ndcg@20"] == pytest.approx(0.5)
    # crossing CDFs: W1 > UGF. A = {0, 1}, D = {0.4, 0.6}: |F_A − F_D| = 0.5 on [0, 1)
    res = RankingResult(np.arange(4), {"ndcg@20": np.array([0.0, 1.0, 0.4, 0.6])})
    rep = fairness_report(res, np.array([True, True, False, False]))
    assert rep["a-igf/ndcg@20"] == pytest.approx(0.0)
    assert rep["w1/ndcg@20"] == pytest.approx(0.4)  # 0.5·0.4 + 0·0.2 + 0.5·0.4
    empty = fairness_report(RES, np.zeros(6, dtype=bool))
    assert np.isnan(empty["a-igf/ndcg@20"]) and np.isnan(empty["advantaged/ndcg@20"])


def test_bootstrap_interval_matches_normal_theory() -> None:
    """Percentile CI of a mean difference ≈ estimate ± 1.96·sqrt(σ²_a/n_a + σ²_d/n_d)."""
    rng = np.random.default_rng(0)
    values = np.r_[rng.normal(0.6, 0.1, 400), rng.normal(0.3, 0.2, 600)]
    res = RankingResult(np.arange(1000), {"ndcg@20": values})
    grp = np.arange(1000) < 400
    ci = bootstrap_fairness(res, grp, RunContext(seed=1), n_boot=2000)["a-igf"]
    a, d = values[:400], values[400:]
    est = a.mean() - d.mean()
    se = np.sqrt(a.var() / 400 + d.var() / 600)
    assert ci.value == pytest.approx(est)
    assert ci.low == pytest.approx(est - 1.96 * se, abs=0.15 * se)
    assert ci.high == pytest.approx(est + 1.96 * se, abs=0.15 * se)
    # constant groups: every replicate equals the estimate
    flat = RankingResult(np.arange(6), {"ndcg@20": np.array([0.7, 0.7, 0.2, 0.2, 0.2, 0.2])})
    iv = bootstrap_fairness(flat, np.arange(6) < 2, RunContext(seed=0), n_boot=50)
    assert iv["a-igf"].low == iv["a-igf"].value == iv["a-igf"].high == pytest.approx(0.5)
    assert iv["w1"].low == iv["w1"].high == pytest.approx(0.5)
