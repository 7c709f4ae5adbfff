"""Functional recovery's parts against hand-computed values (fast; no training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.recovery import (
    MIN_LIFT_USERS,
    _recovery,
    inject_fake_users,
    target_exposure,
    target_rank,
)


class _Fixed:
    def __init__(self, s: list[list[float]]) -> None:
        self.s = torch.tensor(s)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.s[torch.as_tensor(np.asarray(users))]


# 3 users x 5 items; user 0 trained item 0, user 1 item 4
HIST = Interactions(np.array([0, 1]), np.array([0, 4]), 3, 5)
MODEL = _Fixed([[9, 1, 5, 3, 2], [0, 1, 2, 3, 9], [5, 4, 3, 2, 1]])


def test_target_exposure_share_of_users_with_a_target_in_top_k() -> None:
    # top-2 outside history: u0 [2, 3], u1 [3, 2], u2 [0, 1]
    assert target_exposure(MODEL, np.array([0, 1, 2]), HIST, np.array([2]), k=2) == \
        pytest.approx(2 / 3)
    assert target_exposure(MODEL, np.array([0, 1, 2]), HIST, np.array([4]), k=2) == 0.0
    assert target_exposure(MODEL, np.array([2]), HIST, np.array([1, 4]), k=2) == 1.0
    assert np.isnan(target_exposure(MODEL, np.zeros(0, dtype=np.int64), HIST, np.array([2])))


def test_target_rank_mean_percentile_over_users_and_targets() -> None:
    # percentile = #items scored below / (n_items − 1): item 2 for u0 (5 > 3, 2, 1): 3/4,
    # for u2 (3 > 2, 1): 2/4; item 1 for u0 (1: none below) 0, for u2 (4 > 3, 2, 1) 3/4
    got = target_rank(MODEL, np.array([0, 2]), HIST, np.array([1, 2]))
    assert got == pytest.approx(np.mean([0.0, 3 / 4, 3 / 4, 2 / 4]))
    assert np.isnan(target_rank(MODEL, np.zeros(0, dtype=np.int64), HIST, np.array([2])))


def test_recovery_ratio_and_noise_floor() -> None:
    assert _recovery(0.5, 0.2, 0.1, 0.0) == pytest.approx(0.75)
    assert _recovery(0.5, 0.5, 0.1, 0.0) == 0.0  # no-op
    assert _recovery(0.5, 0.0, 0.1, 0.0) == pytest.approx(1.25)  # pushed below retraining
    assert np.isnan(_recovery(0.5, 0.2, 0.45, 0.05))  # lift 0.05 is not > the floor
    assert _recovery(0.5, 0.2, 0.4, 0.05) == pytest.approx(3.0)
    assert np.isnan(_recovery(0.1, 0.2, 0.3, 0.0))  # the "attack" lowered exposure
    assert MIN_LIFT_USERS == 5


def test_inject_fake_profiles_by_hand() -> None:
    # item degrees: 0:4, 1:3, 2:1, 3:1, 4:0 (median 1): unpopular with degree > 0 = {2, 3}
    train = Interactions(np.array([0, 1, 2, 3, 0, 1, 2, 0, 1]),
                         np.array([0, 0, 0, 0, 1, 1, 1, 2, 3]), 4, 5)
    data, fake, targets = inject_fake_users(train, 3, 2, 1, np.random.default_rng(0))
    assert targets.tolist() == [2, 3] and fake.tolist() == [4, 5, 6]
    assert data.n_users == 7 and data.n_items == 5 and len(data) == len(train) + 3 * 3
    for u in fake:
        items = sorted(data.item[data.user == u].tolist())
        assert items[-2:] == [2, 3] or set(items) >= {2, 3}
        assert len(items) == 3 and set(items) - {2, 3} <= {0, 1, 2, 3, 4}
    assert list(data.user_tokens[-3:]) == ["fake0", "fake1", "fake2"]
    real = data.subset(data.user < 4)
    assert sorted(zip(real.user.tolist(), real.item.tolist())) == sorted(
        zip(train.user.tolist(), train.item.tolist()))
    with pytest.raises(ConfigError, match="cannot pick 3 targets and 1 fillers from 5 items"):
        inject_fake_users(train, 3, 3, 1, np.random.default_rng(0))
