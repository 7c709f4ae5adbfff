"""Fairness metrics on hand-built per-user utilities."""

import numpy as np
import pytest

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.fairness import (
    a_igf,
    activity_groups,
    bootstrap_fairness,
    fairness_report,
    shard_gf,
    ugf,
    wasserstein_gap,
)
from cure4rec.metrics.ranking import RankingResult

RES = RankingResult(np.array([0, 1, 2, 3, 5]),
                    {"ndcg@20": np.array([0.8, 0.6, 0.2, 0.4, 0.0])})
GROUP = np.array([True, True, False, False, False, False])   # users 0, 1 advantaged


def test_a_igf_ugf_w1_by_hand() -> None:
    assert a_igf(RES, GROUP) == pytest.approx(0.7 - 0.2)
    assert ugf(RES, ~GROUP) == pytest.approx(0.5)
    assert a_igf(RES, ~GROUP) == pytest.approx(-0.5)
    # W1 between {0.6, 0.8} and {0, 0.2, 0.4}: integral of |F_a - F_d|
    assert wasserstein_gap(RES, GROUP) == pytest.approx(0.5)
    rep = fairness_report(RES, GROUP)
    assert rep["advantaged/ndcg@20"] == pytest.approx(0.7)


def test_shard_gf_population_variance() -> None:
    assert shard_gf(np.array([0.1, 0.3, 0.5, 0.5]), np.array([0, 0, 1, 1])) == \
        pytest.approx(np.var([0.2, 0.5]))
    assert shard_gf(np.array([0.2, 0.2]), np.array([3, 4])) == 0.0


def test_activity_groups_top_fraction_ties_by_index() -> None:
    users = np.array([0, 1, 1, 2, 2, 3, 3, 3])
    tr = Interactions(users, np.arange(8) % 4, 5, 4)
    assert np.flatnonzero(activity_groups(tr, 0.5)).tolist() == [1, 3]


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    res = RankingResult(np.arange(200), {"ndcg@20": rng.random(200)})
    grp = np.arange(200) < 40
    a = bootstrap_fairness(res, grp, RunContext(seed=3), n_boot=200)
    b = bootstrap_fairness(res, grp, RunContext(seed=3), n_boot=200)
    assert a == b
    for iv in a.values():
        assert iv.low <= iv.value <= iv.high or np.isclose(iv.value, iv.low)
