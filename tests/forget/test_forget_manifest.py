"""Manifests: save/load round trip, sha256 re-verified, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.errors import DataError, IntegrityError
from cure4rec.forget.manifest import ForgetSplit
from cure4rec.forget.select import make_forget_split


@pytest.fixture(scope="module")
def fs():
    split = split_dataset(load_dataset("synthetic", n_users=200, n_items=150,
                                       n_interactions=5000), seed=0)
    return make_forget_split(split, "core", 0.1)


def test_round_trip(fs, tmp_path: Path) -> None:
    fs.save(tmp_path / "m")
    back = ForgetSplit.load(tmp_path / "m")
    assert back.sha256 == fs.sha256 and back.split_id == fs.split_id
    np.testing.assert_array_equal(back.request.users, fs.request.users)
    for part in ("retain", "test", "holdout_test", "valid", "holdout_valid"):
        assert np.array_equal(np.sort(getattr(back, part).keys), np.sort(getattr(fs, part).keys))
    assert np.array_equal(np.sort(back.train.keys), np.sort(fs.train.keys))
    assert back.request.sha256 == fs.sha256 and back.card["n_forget_users"] == 20
    assert list(back.train.user_tokens) == list(fs.train.user_tokens)
    assert (back.train.user_attributes["group"] == fs.train.user_attributes["group"]).all()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left
    fs.save(tmp_path / "m")  # identical: fine


def test_tampered_manifest(fs, tmp_path: Path) -> None:
    d = fs.save(tmp_path / "m")
    rows = (d / "forget.csv").read_text().splitlines()
    (d / "forget.csv").write_text("\n".join(rows[:-1]) + "\n")
    with pytest.raises(IntegrityError, match="changed: forget.csv"):
        ForgetSplit.load(d)


def test_refuses_other_split_in_target(fs, tmp_path: Path) -> None:
    d = fs.save(tmp_path / "m")
    other = make_forget_split(split_dataset(load_dataset("synthetic", n_users=200, n_items=150,
                                                         n_interactions=5000)), "edge", 0.1)
    with pytest.raises(DataError, match="holds another forget split"):
        other.save(d)
    with pytest.raises(DataError, match="no card.json"):
        ForgetSplit.load(tmp_path)
