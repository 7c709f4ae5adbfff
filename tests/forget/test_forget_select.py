"""Forget selection: core/edge/random, matched, items, attribute, holdouts, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.errors import ConfigError, DataError, UnknownNameError
from cure4rec.forget.select import STRATEGIES, make_forget_split, register_strategy

SHARED = (Path(__file__).resolve().parents[2] / "../shared/datasets").resolve()
realdata = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets not present")


@pytest.fixture(scope="module")
def split():
    return split_dataset(load_dataset("synthetic", n_users=400, n_items=300,
                                      n_interactions=12000), seed=0)


def test_core_edge_definitions_and_ties(split) -> None:
    deg = split.train.user_degree()
    n = int(np.floor(0.1 * (deg > 0).sum()))
    core = make_forget_split(split, "core", 0.1)
    edge = make_forget_split(split, "edge", 0.1)
    assert len(core.request.users) == len(edge.request.users) == n
    assert deg[core.request.users].min() >= deg[np.setdiff1d(np.flatnonzero(deg),
                                                              core.request.users)].max()
    assert deg[edge.request.users].max() <= deg[np.setdiff1d(np.flatnonzero(deg),
                                                             edge.request.users)].min()
    assert core.split_id == f"{split.dataset.ref}/core-users-10pct/seed0"


def test_forget_is_train_subset_and_holdouts(split) -> None:
    fs = make_forget_split(split, "random", 0.1, seed=3)
    fs.request.check_against(split.train)
    users = fs.request.users
    assert len(fs.retain) + len(fs.forget) == len(split.train)
    assert not fs.test.users_mask(users).any() and not fs.valid.users_mask(users).any()
    assert len(fs.holdout_test) + len(fs.test) == len(split.test)
    assert fs.holdout_test.users_mask(users).all()


def test_seed_changes_random_but_not_core_edge(split) -> None:
    a = make_forget_split(split, "random", 0.1, seed=0)
    b = make_forget_split(split, "random", 0.1, seed=1)
    assert not np.array_equal(a.request.users, b.request.users)
    for s in ("core", "edge"):
        np.testing.assert_array_equal(make_forget_split(split, s, 0.1, seed=0).request.users,
                                      make_forget_split(split, s, 0.1, seed=7).request.users)


def test_same_args_same_sha(split) -> None:
    assert make_forget_split(split, "edge", 0.05).sha256 == \
        make_forget_split(split, "edge", 0.05).sha256


def test_matched_equalises_sizes(split) -> None:
    deg = split.train.user_degree()
    target = make_forget_split(split, "random", 0.05).card["n_forget_interactions"]
    for s in ("core-matched", "edge-matched"):
        fs = make_forget_split(split, s, 0.05)
        n = fs.card["n_forget_interactions"]
        assert target <= n < target + deg[fs.request.users].max()
    fs = make_forget_split(split, "edge-matched", 0.05, target_interactions=100)
    assert 100 <= fs.card["n_forget_interactions"] < 100 + deg.max()


def test_interaction_level_random(split) -> None:
    fs = make_forget_split(split, "random", 0.1, unit="interactions")
    assert fs.request.kind == "interactions"
    assert fs.card["n_forget_interactions"] == int(0.1 * len(split.train))
    assert len(fs.holdout_test) == 0 and len(fs.test) == len(split.test)


def test_category_and_attribute(split) -> None:
    fs = make_forget_split(split, "category", category="genre0", category_column="genre")
    genre = split.train.item_attributes["genre"].to_numpy()
    assert fs.request.kind == "items" and (genre[fs.forget.item] == "genre0").all()
    assert (genre[fs.retain.item] != "genre0").all()
    half = make_forget_split(split, "category", 0.5, category="genre0", category_column="genre")
    assert len(half.request.users) < len(fs.request.users)
    att = make_forget_split(split, "attribute", attribute="group")
    assert att.request.kind == "attribute" and len(att.forget) == 0
    assert len(att.retain) == len(split.train) and len(att.request.users) > 0


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_outside_unit_interval(split, fraction) -> None:
    with pytest.raises(ConfigError, match=r"fraction must be in \(0, 1\)"):
        make_forget_split(split, "core", fraction)


def test_errors(split) -> None:
    with pytest.raises(UnknownNameError, match="known: attribute, category"):
        make_forget_split(split, "hardest", 0.1)
    with pytest.raises(ConfigError, match="unknown key"):
        make_forget_split(split, "core", 0.1, colour="red")
    with pytest.raises(ConfigError, match="selects whole users"):
        make_forget_split(split, "core", 0.1, unit="interactions")
    with pytest.raises(DataError, match="would forget all"):
        make_forget_split(split, "core-matched", 0.1, target_interactions=10**9)
    with pytest.raises(DataError, match="no item attribute 'class'"):
        make_forget_split(split, "category", category="x")


def test_registry_is_extensible(split) -> None:
    @register_strategy("test-first-user")
    def first_user(train, fraction, ctx, opts):
        from cure4rec.forget.select import Selection
        u = train.active_users()[:1]
        return Selection("users", train.users_mask(u), u)

    assert "test-first-user" in STRATEGIES
    assert len(make_forget_split(split, "test-first-user").request.users) == 1
    with pytest.raises(ValueError, match="already registered"):
        register_strategy("core")(first_user)


@pytest.mark.realdata
@realdata
def test_ml100k_core_vs_edge_share() -> None:
    split = split_dataset(load_dataset("ml-100k", data_dir=SHARED), seed=0)
    core = make_forget_split(split, "core", 0.05)
    edge = make_forget_split(split, "edge", 0.05)
    assert core.card["n_forget_users"] == edge.card["n_forget_users"] == 47
    assert 0.15 < core.card["share_of_train"] < 0.23 and edge.card["share_of_train"] < 0.015
    assert core.split_id == "ml-100k@1/core-users-5pct/seed0"
    other = split_dataset(load_dataset("ml-100k", data_dir=SHARED), seed=1)
    assert other.sha256 != split.sha256
    np.testing.assert_array_equal(make_forget_split(other, "core", 0.05, seed=1).request.users,
                                  core.request.users)
    deg = split.train.user_degree()
    a = make_forget_split(split, "core-matched", 0.05).card["n_forget_interactions"]
    b = make_forget_split(split, "edge-matched", 0.05).card["n_forget_interactions"]
    assert abs(a - b) <= deg.max()
    cat = make_forget_split(split, "category", category="Action")
    assert cat.request.kind == "items" and cat.card["n_forget_interactions"] > 1000
    gender = make_forget_split(split, "attribute", attribute="gender")
    assert len(gender.request.users) == 943
