"""Partitioners: balanced, deterministic, tighter than random for RecEraser/UltraRE."""

import math

import numpy as np
import pytest

from cure4rec.errors import ConfigError
from cure4rec.methods.partition import (
    balanced_kmeans,
    greedy_capacity,
    mean_within_distance,
    ot_assign,
    ot_cluster,
    random_balanced,
)


def blobs(n: int = 300, k: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, (k, 4))
    return centres[np.arange(n) % k] + rng.normal(0, 0.5, (n, 4))


def test_greedy_capacity_known_answer() -> None:
    cost = np.array([[0.0, 5.0], [1.0, 6.0], [2.0, 0.5]])
    assert greedy_capacity(cost, 2).tolist() == [0, 0, 1]
    # capacity 1 per bin, 2 points: point 0 wins bin 0 (cost 0 < 1), point 1 goes to bin 1
    assert greedy_capacity(cost[:2], 1).tolist() == [0, 1]


def test_greedy_capacity_rejects_too_small() -> None:
    with pytest.raises(ConfigError):
        greedy_capacity(np.zeros((5, 2)), 2)


def test_random_balanced_sizes_and_seed() -> None:
    a = random_balanced(103, 10, np.random.default_rng(1))
    assert np.bincount(a).max() - np.bincount(a).min() <= 1
    assert np.array_equal(a, random_balanced(103, 10, np.random.default_rng(1)))


@pytest.mark.parametrize("algo", ["kmeans", "sinkhorn", "exact"])
def test_balanced_and_tighter_than_random(algo: str) -> None:
    x, k = blobs(), 5
    rng = np.random.default_rng(0)
    if algo == "kmeans":
        labels, cap = balanced_kmeans(x, k, rng, iters=20), math.ceil(1.2 * len(x) / k)
    else:
        labels, cap = ot_cluster(x, k, rng, solver=algo), math.ceil(len(x) / k)
    assert np.bincount(labels, minlength=k).max() <= cap
    rand = random_balanced(len(x), k, np.random.default_rng(0))
    assert mean_within_distance(x, labels) < 0.5 * mean_within_distance(x, rand)


def test_interaction_partition_uses_both_sides() -> None:
    x, y = blobs(200, 4, 1), blobs(200, 4, 2)
    labels = balanced_kmeans(x, 4, np.random.default_rng(0), iters=10, y=y)
    assert np.bincount(labels).max() <= math.ceil(1.2 * 200 / 4)


def test_ot_exact_matches_capacity() -> None:
    cost = np.random.default_rng(0).random((12, 3))
    assert np.bincount(ot_assign(cost, "exact")).tolist() == [4, 4, 4]
    with pytest.raises(ConfigError):
        ot_assign(cost, "simplex")
