"""Splits: seeded per-user random split, temporal leave-last-out, determinism, no overlap."""

from __future__ import annotations

import numpy as np
import pytest

from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.data.split import DatasetRef, temporal_split
from cure4rec.errors import ConfigError


@pytest.fixture(scope="module")
def ds():
    return load_dataset("synthetic", n_users=300, n_items=200, n_interactions=8000)


def test_random_split_ratios_and_determinism(ds) -> None:
    a, b = split_dataset(ds, seed=0), split_dataset(ds, seed=0)
    assert a.sha256 == b.sha256
    assert split_dataset(ds, seed=1).sha256 != a.sha256
    n = len(ds.interactions)
    assert abs(len(a.test) / n - 0.1) < 0.02 and abs(len(a.valid) / n - 0.1) < 0.02
    assert not np.isin(a.train.keys, a.test.keys).any()
    assert not np.isin(a.valid.keys, a.test.keys).any()
    # every user keeps train data and has a test item (5-core)
    assert (a.train.user_degree()[ds.interactions.active_users()] > 0).all()
    assert (a.test.user_degree()[ds.interactions.active_users()] > 0).all()


def test_temporal_leave_last_out(ds) -> None:
    s = temporal_split(ds.interactions, ds.ref)
    inter = ds.interactions
    last = np.zeros(inter.n_users)
    np.maximum.at(last, inter.user, inter.timestamp)
    assert (s.test.timestamp == last[s.test.user]).all()
    assert (s.test.user_degree()[inter.active_users()] == 1).all()
    assert s.train.timestamp.max() <= inter.timestamp.max()


def test_bad_ratios(ds) -> None:
    with pytest.raises(ConfigError, match="summing to 1"):
        split_dataset(ds, ratios=(0.5, 0.1, 0.1))


def test_dataset_ref() -> None:
    assert DatasetRef("ml-100k", "1", "x").ref == "ml-100k@1"
