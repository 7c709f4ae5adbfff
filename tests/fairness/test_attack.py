"""Attribute-inference attack: chance on random labels, high on informative embeddings."""

import numpy as np

from cure4rec.context import RunContext
from cure4rec.metrics.attribute_attack import attribute_attack, balance


def test_balance_downsamples_to_smallest_class() -> None:
    y = np.array([0] * 10 + [1] * 4 + [-1] * 3)
    idx = balance(y, np.random.default_rng(0))
    assert np.bincount(y[idx]).tolist() == [4, 4]


def test_random_labels_stay_at_chance_and_planted_signal_is_found() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 8))
    y_rand = rng.integers(0, 2, 240)
    res = attribute_attack(x, y_rand, RunContext(seed=0), attackers=("mlp",), repeats=1)
    assert abs(res["mlp"].auc - 0.5) < 0.1
    y = rng.integers(0, 3, 240)
    x_inf = x + 2.0 * np.eye(8)[y]
    res = attribute_attack(x_inf, y, RunContext(seed=0), repeats=1)
    assert res["mlp"].auc > 0.9 and res["gb"].auc > 0.85
    assert res["gb"].chance_balanced_accuracy == 1 / 3
    again = attribute_attack(x_inf, y, RunContext(seed=0), attackers=("gb",), repeats=1)
    assert again["gb"] == res["gb"]


def test_repeat_spread_is_reported_and_the_attack_is_reproducible() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 4)) + 0.6 * y[:, None]
    one = attribute_attack(x, y, RunContext(seed=0), attackers=("lr",), repeats=1)["lr"]
    assert one.repeats == 1 and np.isnan(one.auc_repeat_std)
    three = attribute_attack(x, y, RunContext(seed=0), attackers=("lr",), repeats=3)["lr"]
    assert three.repeats == 3 and 0 < three.auc_repeat_std < three.auc_std
    assert three.auc_low < three.auc < three.auc_high
    # the first repeat is shared, so three repeats' mean moves by less than their spread × 2
    assert abs(three.auc - one.auc) < 2 * three.auc_repeat_std * np.sqrt(3) + 1e-12
    again = attribute_attack(x, y, RunContext(seed=0), attackers=("lr",), repeats=3)["lr"]
    assert again == three   # same seed, single-threaded fits: bit-identical
