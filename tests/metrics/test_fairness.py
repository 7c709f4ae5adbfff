"""Fairness metrics on hand-built per-user utilities."""

import numpy as np
import pytest

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
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


def test_empty_groups_are_nan_without_numpy_warnings() -> None:
    import warnings

    from cure4rec.metrics.fairness import bootstrap_fairness

    nobody = np.zeros(6, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN by definition, not by numpy's empty mean
        for group in (nobody, ~nobody):
            rep = fairness_report(RES, group)
            assert all(np.isnan(rep[k]) for k in ("a-igf/ndcg@20", "ugf/ndcg@20",
                                                  "w1/ndcg@20")), rep
            assert np.isnan(rep["advantaged/ndcg@20"] if not group.any()
                            else rep["disadvantaged/ndcg@20"])
            assert np.isnan(a_igf(RES, group)) and np.isnan(wasserstein_gap(RES, group))
            iv = bootstrap_fairness(RES, group, RunContext(seed=0), n_boot=20)
            assert all(np.isnan([v.value, v.low, v.high]).all() for v in iv.values())
        assert np.isnan(shard_gf(np.zeros(0), np.zeros(0, dtype=int)))


def test_group_mask_may_be_integers_and_metric_is_honoured() -> None:
    assert a_igf(RES, GROUP.astype(int)) == pytest.approx(a_igf(RES, GROUP))
    two = RankingResult(RES.users, {"ndcg@20": RES.per_user["ndcg@20"],
                                    "recall@20": np.array([0.0, 0.2, 0.9, 0.9, 0.9])})
    assert ugf(two, GROUP, "recall@20") == pytest.approx(0.8)
    assert wasserstein_gap(two, GROUP, "recall@20") == pytest.approx(0.8)
    with pytest.raises(ConfigError, match="'mrr@5' not evaluated; have ndcg@20, recall@20"):
        a_igf(two, GROUP, "mrr@5")
    with pytest.raises(ConfigError, match=r"differ in shape: \(2,\) vs \(3,\)"):
        shard_gf(np.zeros(2), np.zeros(3))


def test_activity_groups_small_and_empty() -> None:
    users = np.repeat(np.arange(10), np.arange(10) + 1)  # user u has u + 1 interactions
    tr = Interactions(users, np.zeros(len(users), dtype=np.int64), 10, 1)
    mask = activity_groups(tr)  # default 5%: int(10 * 0.05) = 0 -> at least one active user
    assert mask.dtype == bool and np.flatnonzero(mask).tolist() == [9]
    assert np.flatnonzero(activity_groups(tr, 0.25)).tolist() == [8, 9]
    empty = Interactions(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 4, 1)
    assert not activity_groups(empty, 0.5).any()


def test_attribute_groups() -> None:
    import pandas as pd

    from cure4rec.metrics.fairness import attribute_groups

    attrs = pd.DataFrame({"gender": ["F", "M", None, "F"], "age": [1, 2, 3, 1]})
    data = Interactions(np.array([0, 1]), np.array([0, 0]), 4, 1, user_attributes=attrs)
    assert attribute_groups(data, "gender", "F").tolist() == [True, False, False, True]
    assert attribute_groups(data, "age", "1").tolist() == [True, False, False, True]
    assert attribute_groups(data, "gender", "M").dtype == bool
    with pytest.raises(ConfigError, match="user attribute 'job' not available"):
        attribute_groups(data, "job", "x")
    with pytest.raises(ConfigError, match="'gender' not available"):
        attribute_groups(Interactions(np.array([0]), np.array([0]), 4, 1), "gender", "F")


def test_bootstrap_percentiles_of_within_group_resamples() -> None:
    """The interval is the 2.5/97.5 percentiles of the gaps of users resampled *within*
    each group from the documented seed stream; defaults are 1000 draws at 95%."""
    rng0 = np.random.default_rng(5)
    res = RankingResult(np.arange(30), {"ndcg@20": rng0.random(30)})
    grp = np.arange(30) < 12
    ctx = RunContext(seed=2)
    got = bootstrap_fairness(res, grp, ctx)
    assert got == bootstrap_fairness(res, grp, ctx, n_boot=1000, level=0.95)
    a, d = res.per_user["ndcg@20"][grp], res.per_user["ndcg@20"][~grp]
    rng = ctx.child("fairness-bootstrap").rng()
    ra = a[rng.integers(0, len(a), size=(1000, len(a)))]
    rd = d[rng.integers(0, len(d), size=(1000, len(d)))]
    gaps = ra.mean(1) - rd.mean(1)
    assert (got["a-igf"].low, got["a-igf"].high) == pytest.approx(
        tuple(np.percentile(gaps, [2.5, 97.5])))
    assert (got["ugf"].low, got["ugf"].high) == pytest.approx(
        tuple(np.percentile(np.abs(gaps), [2.5, 97.5])))
    assert got["ugf"].value == pytest.approx(abs(a.mean() - d.mean()))
    narrow = bootstrap_fairness(res, grp, ctx, n_boot=1000, level=0.5)["a-igf"]
    assert (narrow.low, narrow.high) == pytest.approx(tuple(np.percentile(gaps, [25, 75])))
