"""The calibrated completeness score: hand-computed values, ties, and its calibration."""

from __future__ import annotations

import numpy as np
import pytest

from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.calibrated import (
    NOISE_FLOOR,
    ReferenceStats,
    calibrate,
    example_stats,
    forget_percentiles,
    null_scores,
    positions,
    rank_score,
)
from tests.metrics._fixed import Fixed


def _inter(pairs: list[tuple[int, int]], n_users: int = 2, n_items: int = 5) -> Interactions:
    u, i = zip(*pairs)
    return Interactions.from_pairs(list(u), list(i), n_users, n_items)


def test_positions_are_mid_ranks() -> None:
    refs = np.array([[0.1, 0.5, 0.3], [0.2, 0.5, 0.3], [0.3, 0.5, 0.9]])
    # e0: 0.25 is above 0.1, 0.2 -> 2/3; e1: ties with all three -> 1.5/3; e2: 0.3 above
    # nothing, tied with two -> 1/3.
    assert positions(np.array([0.25, 0.5, 0.3]), refs).tolist() == pytest.approx(
        [2 / 3, 0.5, 1 / 3])
    assert rank_score(np.array([0.25, 0.5, 0.3]), refs) == pytest.approx(2 * 0.5 - 1)
    assert rank_score(np.array([9.0, 9.0, 9.0]), refs) == 1.0
    assert rank_score(np.array([-9.0, -9.0, -9.0]), refs) == -1.0


def test_leave_one_out_null_sums_to_zero() -> None:
    refs = np.random.default_rng(0).random((8, 40))
    null = null_scores(refs)
    assert len(null) == 8 and abs(null.sum()) < 1e-12
    # hand check for reference 0 against the other seven
    assert null[0] == pytest.approx(rank_score(refs[0], refs[1:]))


def test_percentiles_mid_rank_and_history_mask() -> None:
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    pairs = _inter([(0, 1), (0, 4), (1, 2)])
    # no history: item 1 is above 3 of the other 4 items -> 0.75; item 4 -> 0; all-equal row
    # -> 0.5 (never index order).
    assert forget_percentiles(Fixed(scores), pairs).tolist() == [0.75, 0.0, 0.5]
    # history {item 0} of user 0 is removed from the candidates: item 1 becomes the top.
    hist = _inter([(0, 0)])
    assert forget_percentiles(Fixed(scores), pairs, hist).tolist() == [1.0, 0.0, 0.5]
    # the user statistic is the mean over the user's pairs, one example per user
    assert example_stats(np.array([1.0, 0.0, 0.5]), pairs, "users").tolist() == [0.5, 0.5]
    with pytest.raises(ConfigError):
        example_stats(np.zeros(3), pairs, "items")


def test_deterministic_references_are_finite_and_exact_match_is_indistinguishable() -> None:
    refs = np.full((8, 30), 0.5)  # ALS cold rows: every reference gives the same value
    same = calibrate(np.full(30, 0.5), refs)
    assert (same.score, same.z, same.p, same.verdict) == (0.0, 0.0, 1.0, "indistinguishable")
    assert same.noise == NOISE_FLOOR
    moved = calibrate(np.full(30, 0.51), refs)  # anything else is a tell
    assert moved.verdict == "remembers" and np.isfinite(moved.z)
    assert calibrate(np.full(30, 0.49), refs).verdict == "over-forgets"
    with pytest.raises(ConfigError, match="≥3"):
        calibrate(np.zeros(3), np.zeros((2, 3)))


def _world(rng: np.random.Generator, n_users: int, shift: float) -> np.ndarray:
    """Per-user statistics of one model draw: shared per-user level + model noise + shift."""
    base = np.linspace(0.4, 0.8, n_users)
    return base + shift + 0.05 * rng.standard_normal(n_users) + 0.02 * rng.standard_normal()


def test_calibration_null_and_power() -> None:
    # Retrains are exchangeable draws; a held-out one must read indistinguishable at about
    # the nominal rate, a shifted model must not.
    rng = np.random.default_rng(0)
    flagged, n_trials = 0, 200
    for _ in range(n_trials):
        refs = np.stack([_world(rng, 40, 0.0) for _ in range(8)])
        flagged += calibrate(_world(rng, 40, 0.0), refs).verdict != "indistinguishable"
    assert flagged / n_trials <= 0.08
    refs = np.stack([_world(rng, 40, 0.0) for _ in range(8)])
    assert calibrate(_world(rng, 40, 0.10), refs).verdict == "remembers"
    assert calibrate(_world(rng, 40, -0.10), refs).verdict == "over-forgets"


def test_reference_stats_scores_models() -> None:
    rng = np.random.default_rng(1)
    n_users, n_items = 30, 50
    pairs = _inter([(u, i) for u in range(n_users) for i in (0, 1, 2)], n_users, n_items)
    refs = [Fixed(rng.standard_normal((n_users, n_items))) for _ in range(6)]
    stats = ReferenceStats.build(refs, pairs, None, "users")
    assert stats.refs.shape == (6, n_users)
    boosted = rng.standard_normal((n_users, n_items))
    boosted[:, :3] += 10.0  # the forgotten items on top: a no-op
    assert stats.score(Fixed(boosted), pairs, None).verdict == "remembers"
    sunk = rng.standard_normal((n_users, n_items))
    sunk[:, :3] -= 10.0
    assert stats.score(Fixed(sunk), pairs, None).verdict == "over-forgets"
    fresh = stats.score(Fixed(rng.standard_normal((n_users, n_items))), pairs, None)
    assert fresh.verdict == "indistinguishable"


TINY = {"bpr": {"dim": 16, "epochs": 25, "lr": 0.01, "batch_size": 1024, "patience": 100},
        "wmf": {"dim": 16, "epochs": 8, "patience": 100},
        "lightgcn": {"dim": 16, "layers": 2, "epochs": 25, "lr": 0.01, "batch_size": 1024,
                     "patience": 100},
        "mf-bce": {"dim": 16, "epochs": 25, "lr": 0.01, "batch_size": 1024, "patience": 100}}


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(TINY))
def test_noop_is_flagged_and_a_heldout_retrain_is_not_whatever_the_model(model: str) -> None:
    from cure4rec.context import RunContext
    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.forget.select import make_forget_split
    from cure4rec.models.base import ModelSpec
    from cure4rec.testing.validity import dose_response

    ds = load_dataset("synthetic", n_users=200, n_items=150, n_interactions=6000)
    fs = make_forget_split(split_dataset(ds, seed=0), "core", 0.2, seed=0)
    rows = dose_response(fs, ModelSpec(model, TINY[model]), RunContext(seed=0, threads=1),
                         n_references=8, n_heldout=1, doses=(0.0,))
    verdicts = {r.kind: r.score.verdict for r in rows}
    assert verdicts == {"dose": "remembers", "heldout": "indistinguishable",
                        "over-forget": "over-forgets"}, [(r.kind, r.score) for r in rows]
