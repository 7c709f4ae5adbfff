"""Completeness rankings exclude each user's training items: hand-computed toy matrix.

Two users, six items. Each user's retained train items score highest under every model, so
without the mask every top-3 list would start with them and the overlap, RBO and JS values
would all change. The expected values below are worked by hand (RBO) or by an independent
numpy re-implementation of the documented definition (JS), never by the code under test.

Pins `cure4rec.metrics.completeness.group_distances` (with `history`),
`overlap_and_rbo` and `js_divergence`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.completeness import group_distances

# user 0 trained items {0, 1}; user 1 trained item {5}
HISTORY = Interactions(np.array([0, 0, 1]), np.array([0, 1, 5]), 2, 6)
UNLEARNED = np.array([[9.0, 8.0, 7.0, 6.0, 5.0, 4.0],
                      [1.0, 2.0, 3.0, 4.0, 5.0, 9.0]])
REFERENCE = np.array([[9.0, 8.0, 5.0, 7.0, 6.0, 4.0],
                      [4.0, 3.0, 2.0, 1.0, 0.0, 9.0]])


class _Fixed:
    """A 'model' serving a fixed score matrix."""

    def __init__(self, s: np.ndarray) -> None:
        self.s = torch.as_tensor(s, dtype=torch.float32)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.s[torch.as_tensor(np.asarray(users), dtype=torch.long)]


def _rbo_by_hand(x: list[int], p: float, k: int) -> float:
    """Extrapolated RBO from the overlaps X_1..X_k (Webber et al. eq. 32)."""
    return x[-1] / k * p**k + (1 - p) / p * sum(x[d - 1] / d * p**d for d in range(1, k + 1))


def _js_reference(a: np.ndarray, b: np.ndarray) -> float:
    """JS (natural log) of softmax of the standardised scores (population sd)."""
    def prob(s: np.ndarray) -> np.ndarray:
        z = (s - s.mean()) / s.std()
        e = np.exp(z - z.max())
        return e / e.sum()

    p, q = prob(a), prob(b)
    m = (p + q) / 2
    return float(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m)))


def test_rankings_mask_the_users_training_items() -> None:
    unl, ref = _Fixed(UNLEARNED), _Fixed(REFERENCE)
    # two identical references: the seed side is exactly 0, the unlearned side is d(unl, ref)
    gd = group_distances(unl, [ref, ref], np.array([0, 1]), HISTORY, k=3, p=0.9)
    # user 0, candidates {2,3,4,5}: unlearned top-3 = [2,3,4], reference top-3 = [3,4,2]
    #   overlap 3/3; X = (0, 1, 3)
    # user 1, candidates {0..4}: unlearned top-3 = [4,3,2], reference top-3 = [0,1,2]
    #   overlap 1/3; X = (0, 0, 1)
    assert gd.unlearned["topk_overlap"] == pytest.approx([0.0, 2 / 3])
    rbo0, rbo1 = _rbo_by_hand([0, 1, 3], 0.9, 3), _rbo_by_hand([0, 0, 1], 0.9, 3)
    assert rbo0 == pytest.approx(0.855)  # 0.729 + (0.1/0.9)(0.5·0.81 + 0.729)
    assert rbo1 == pytest.approx(0.27)   # 0.729/3 + (0.1/0.9)(0.729/3)
    assert gd.unlearned["rbo"] == pytest.approx([1 - rbo0, 1 - rbo1])
    js0 = _js_reference(UNLEARNED[0, 2:], REFERENCE[0, 2:])
    js1 = _js_reference(UNLEARNED[1, :5], REFERENCE[1, :5])
    assert gd.unlearned["js"] == pytest.approx([js0, js1], rel=1e-5)
    for name in ("topk_overlap", "rbo", "js"):
        assert gd.seed[name] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert gd.ratio("js") == float("inf")  # only the seeds agree

    # Without the mask every value differs: the trained items lead both lists.
    raw = group_distances(unl, [ref, ref], np.array([0, 1]), None, k=3, p=0.9)
    # user 0: [0,1,2] vs [0,1,3] -> overlap 2/3; user 1: [5,4,3] vs [5,0,1] -> 1/3
    assert raw.unlearned["topk_overlap"] == pytest.approx([1 / 3, 2 / 3])
    assert raw.unlearned["rbo"] == pytest.approx(
        [1 - _rbo_by_hand([1, 2, 2], 0.9, 3), 1 - _rbo_by_hand([1, 1, 1], 0.9, 3)])
    assert not np.allclose(raw.unlearned["js"], gd.unlearned["js"])


def test_masked_values_reach_the_reported_group_means() -> None:
    """The diagnostics' group means as `completeness_metrics` reports them (similarities)."""
    from cure4rec.metrics.completeness import UserGroups, completeness_metrics

    unl, ref = _Fixed(UNLEARNED), _Fixed(REFERENCE)
    groups = UserGroups(np.array([0]), np.array([1]), np.zeros(0, dtype=np.int64))
    forget = Interactions(np.array([0]), np.array([2]), 2, 6)
    out, _ = completeness_metrics(unl, [ref, ref], groups, HISTORY, forget, k=3, p=0.9)
    assert out["topk_overlap.forgotten"] == pytest.approx(1.0)
    assert out["topk_overlap.neighbours"] == pytest.approx(1 / 3)
    assert out["rbo.forgotten"] == pytest.approx(0.855)
    assert out["rbo.neighbours"] == pytest.approx(0.27)
    assert out["js.forgotten"] == pytest.approx(
        _js_reference(UNLEARNED[0, 2:], REFERENCE[0, 2:]), rel=1e-5)
    assert np.isnan(out["topk_overlap.rest"])  # an empty group is NaN, not 0


def test_seed_pairs_are_masked_too() -> None:
    """The seed-noise side (reference pairs) excludes the training items as well."""
    ref2 = _Fixed(np.array([[9.0, 8.0, 2.0, 3.0, 4.0, 5.0], REFERENCE[1]]))
    gd = group_distances(_Fixed(UNLEARNED), [_Fixed(REFERENCE), ref2], np.array([0]), HISTORY,
                         k=3, p=0.9)
    # user 0, candidates {2,3,4,5}: reference [3,4,2] vs ref2 [5,4,3]: X = (0, 1, 2)
    # (unmasked the lists would be [0,1,3] vs [0,1,5]: X = (1, 2, 2))
    assert gd.seed["rbo"] == pytest.approx([1 - _rbo_by_hand([0, 1, 2], 0.9, 3)])
    assert gd.seed["topk_overlap"] == pytest.approx([1 - 2 / 3])


def test_forgotten_rank_reports_the_originals_lift() -> None:
    from cure4rec.metrics.completeness import forgotten_rank

    forget = Interactions(np.array([0, 1]), np.array([2, 0]), 2, 6)
    orig = _Fixed(np.array([[0.0, 0, 9, 0, 0, 0], [9.0, 0, 0, 0, 0, 1]]))  # forgotten on top
    low = _Fixed(np.array([[5.0, 4, 0, 3, 2, 1], [0.0, 5, 4, 3, 2, 1]]))  # forgotten at bottom
    mid = _Fixed(np.array([[5.0, 4, 3, 2, 1, 0], [3.0, 5, 4, 2, 1, 0]]))
    out = forgotten_rank(mid, [low, low], forget, original=orig)
    # percentiles (# items below / 5): orig 1, 1; low 0, 0; mid 3/5, 3/5
    assert out["forgotten_rank"] == pytest.approx(0.6)
    assert out["forgotten_rank.retrain"] == pytest.approx(0.0)
    assert out["forgotten_rank.original"] == pytest.approx(1.0)
    assert out["forgotten_rank_lift"] == pytest.approx(0.6)  # (0.6 − 0) / (1 − 0)
    assert out["forgotten_rank_lift.seed"] == pytest.approx(0.0)
    assert "forgotten_rank.original" not in forgotten_rank(mid, [low, low], forget)
