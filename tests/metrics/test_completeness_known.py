"""Known answers for the completeness diagnostics: overlap, RBO, JS, forgotten-pair percentile
(issue 17).

Expected values are worked by hand or by a few-line numpy re-implementation of the documented
definitions, never by the code under test. The train-item mask itself is pinned by
`test_completeness_mask.py`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.completeness import (
    _ratio,
    _raw,
    forgotten_rank,
    group_distances,
    js_divergence,
    overlap_and_rbo,
    pair_percentiles,
    rank_lift,
)
from tests.metrics._fixed import Fixed


def _rbo(a: list[int], b: list[int], p: float) -> float:
    k = len(a)
    agree = [len(set(a[:d]) & set(b[:d])) / d for d in range(1, k + 1)]
    return agree[-1] * p**k + (1 - p) / p * sum(x * p**d for d, x in enumerate(agree, 1))


def _js(s1: np.ndarray, s2: np.ndarray, tau: float) -> float:
    def prob(s: np.ndarray) -> np.ndarray:
        fin = np.isfinite(s)
        z = np.full(s.shape, -np.inf)
        f = s[fin]
        z[fin] = (f - f.mean()) / f.std() / tau
        e = np.exp(z - z[fin].max())
        return e / e.sum()

    p, q = prob(s1), prob(s2)
    m = (p + q) / 2
    kl = (lambda a: float(np.sum(a[a > 0] * np.log(a[a > 0] / m[a > 0]))))
    return 0.5 * kl(p) + 0.5 * kl(q)


def test_overlap_and_rbo_by_hand() -> None:
    a = torch.tensor([[0, 1, 2], [0, 1, 2], [0, 1, 2], [4, 5, 6]])
    b = torch.tensor([[1, 0, 3], [0, 1, 2], [7, 8, 9], [6, 9, 4]])
    ov, rbo = overlap_and_rbo(a, b, p=0.9)
    np.testing.assert_allclose(ov, [2 / 3, 1.0, 0.0, 2 / 3], rtol=0, atol=1e-15)
    # row 0: X = (0, 2, 2) -> agree (0, 1, 2/3):
    #   2/3 * .9^3 + (.1/.9) * (0 + .81 + 2/3 * .729) = .486 + .144 = .63
    assert rbo[0] == pytest.approx(0.63, abs=1e-12)
    assert rbo[1] == pytest.approx(1.0, abs=1e-12)  # identical lists: exactly 1
    assert rbo[2] == 0.0
    assert rbo[3] == pytest.approx(_rbo([4, 5, 6], [6, 9, 4], 0.9), abs=1e-12)
    # another persistence
    _, r5 = overlap_and_rbo(a[:1], b[:1], p=0.5)
    assert r5[0] == pytest.approx(_rbo([0, 1, 2], [1, 0, 3], 0.5), abs=1e-12)
    assert r5[0] == pytest.approx(2 / 3 * 0.125 + 1.0 * (0 + 0.25 + 2 / 3 * 0.125), abs=1e-12)


def test_rbo_random_lists_match_independent() -> None:
    rng = np.random.default_rng(3)
    a = np.stack([rng.permutation(12)[:5] for _ in range(20)])
    b = np.stack([rng.permutation(12)[:5] for _ in range(20)])
    ov, rbo = overlap_and_rbo(torch.from_numpy(a), torch.from_numpy(b), p=0.8)
    for r in range(20):
        assert ov[r] == pytest.approx(len(set(a[r]) & set(b[r])) / 5, abs=1e-15)
        assert rbo[r] == pytest.approx(_rbo(list(a[r]), list(b[r]), 0.8), abs=1e-12)


def test_js_divergence_matches_independent() -> None:
    s1 = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, -np.inf], [5.0, 1.0, 1.0, 2.0]])
    s2 = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 0.0, 0.0, -np.inf], [5.0, 1.0, 1.0, 2.0]])
    for tau in (1.0, 0.5):
        got = js_divergence(torch.from_numpy(s1), torch.from_numpy(s2), tau)
        want = [_js(s1[r], s2[r], tau) for r in range(3)]
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
    assert js_divergence(torch.from_numpy(s1[2:]), torch.from_numpy(s2[2:]))[0] == \
        pytest.approx(0.0, abs=1e-12)
    # scale-free: z-scores, so an affine rescale of a row changes nothing
    got = js_divergence(torch.from_numpy(s1[:1] * 3 + 7), torch.from_numpy(s2[:1]))
    assert got[0] == pytest.approx(_js(s1[0], s2[0], 1.0), rel=1e-7)


def test_group_distances_by_hand() -> None:
    # one user, 4 items, no history, k = 2: m ranks (3, 2), r0 (3, 2), r1 (0, 1)
    m = np.array([[0.0, 1.0, 2.0, 3.0]])
    r0 = np.array([[0.0, 1.0, 2.0, 3.0]])
    r1 = np.array([[3.0, 2.0, 1.0, 0.0]])
    gd = group_distances(Fixed(m), [Fixed(r0), Fixed(r1)], np.array([0]), None, k=2, p=0.9)
    # 1 - overlap: vs r0 0, vs r1 1 -> mean .5 ; seed pair (r0, r1) -> 1
    assert gd.unlearned["topk_overlap"].tolist() == [0.5]
    assert gd.seed["topk_overlap"].tolist() == [1.0]
    assert gd.ratio("topk_overlap") == 0.5
    assert gd.unlearned["rbo"][0] == pytest.approx(0.5, abs=1e-12)
    assert gd.seed["rbo"][0] == pytest.approx(1.0, abs=1e-12)
    js = _js(m[0], r1[0], 1.0)
    assert gd.unlearned["js"][0] == pytest.approx(js / 2, rel=1e-7)
    assert gd.seed["js"][0] == pytest.approx(js, rel=1e-7)
    assert gd.ratio("js") == pytest.approx(0.5, rel=1e-6)
    assert _raw(gd.unlearned["topk_overlap"], "topk_overlap") == 0.5
    assert _raw(np.array([0.2, 0.4]), "js") == pytest.approx(0.3)
    assert _raw(np.array([0.2, 0.4]), "rbo") == pytest.approx(0.7)
    assert np.isnan(_raw(np.zeros(0), "js"))


def test_ratio_edges() -> None:
    assert _ratio(1.0, 4.0) == 0.25
    assert _ratio(0.0, 0.0) == 1.0
    assert _ratio(0.5, 0.0) == float("inf")


def _inter(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    u, i = zip(*pairs)
    return Interactions.from_pairs(list(u), list(i), n_users, n_items)


def test_forgotten_rank_by_hand() -> None:
    # 1 user, 5 items; forgotten items 0 and 1; percentile among all items (mid-ranks)
    forget = _inter([(0, 0), (0, 1)], 1, 5)
    unl = np.array([[4.0, 3.0, 2.0, 1.0, 0.0]])   # pcts 1, .75
    r0 = np.array([[0.0, 1.0, 2.0, 3.0, 4.0]])    # pcts 0, .25
    r1 = np.array([[2.0, 2.0, 2.0, 2.0, 2.0]])    # pcts .5, .5
    orig = np.array([[4.0, 4.0, 0.0, 0.0, 0.0]])  # pcts (3 + .5)/4 = .875 each
    assert pair_percentiles(Fixed(unl), forget).tolist() == [1.0, 0.75]
    assert pair_percentiles(Fixed(orig), forget).tolist() == [0.875, 0.875]
    out = forgotten_rank(Fixed(unl), [Fixed(r0), Fixed(r1)], forget, Fixed(orig))
    assert out["forgotten_rank"] == 0.875
    assert out["forgotten_rank.retrain"] == pytest.approx((0.125 + 0.5) / 2)
    assert out["forgotten_rank.original"] == 0.875
    # W1 of equal-size samples = mean |sorted a - sorted b|:
    # unl {.75, 1} vs r0 {0, .25}: .75 ; vs r1 {.5, .5}: (.25 + .5)/2 = .375 -> num .5625
    # r0 vs r1: (.5 + .25)/2 = .375 -> ratio 1.5
    assert out["forgotten_rank_ratio"] == pytest.approx(1.5, rel=1e-12)
    # lift = (.875 - .3125) / (.875 - .3125) = 1 ; seed = sd(.125, .5) / .5625
    assert out["forgotten_rank_lift"] == pytest.approx(1.0, rel=1e-12)
    assert out["forgotten_rank_lift.seed"] == pytest.approx(
        np.std([0.125, 0.5], ddof=1) / 0.5625, rel=1e-12)


def test_rank_lift_by_hand() -> None:
    out = rank_lift(0.6, [0.4, 0.5, 0.6], 0.9)
    assert out["forgotten_rank_lift"] == pytest.approx(0.1 / 0.4, rel=1e-12)
    assert out["forgotten_rank_lift.seed"] == pytest.approx(0.1 / 0.4, rel=1e-12)
    neg = rank_lift(0.3, [0.4, 0.5, 0.6], 0.9)
    assert neg["forgotten_rank_lift"] == pytest.approx(-0.5, rel=1e-12)
    below = rank_lift(0.3, [0.4, 0.5, 0.6], 0.1)  # original below the references
    assert below["forgotten_rank_lift"] == pytest.approx(-0.2 / -0.4, rel=1e-12)
    assert below["forgotten_rank_lift.seed"] == pytest.approx(0.1 / 0.4, rel=1e-12)
    small = rank_lift(0.6, [0.4, 0.5, 0.6], 0.505)
    assert np.isnan(small["forgotten_rank_lift"]) and np.isnan(small["forgotten_rank_lift.seed"])
    assert rank_lift(0.6, [0.4, 0.5, 0.6], 0.511)["forgotten_rank_lift"] == \
        pytest.approx(0.1 / 0.011, rel=1e-9)
    assert np.isnan(rank_lift(0.6, [0.5], 0.9)["forgotten_rank_lift.seed"])
