"""Known answers for `forget_percentiles` / `ReferenceStats` cases the other calibrated tests
leave open (issue 17, round-11 mutation survivors): the user batches the model is asked for,
pairs not grouped by user, integer score tensors, two candidates on the ±inf path, and the
stored leave-one-out null.

Expected values are worked out by hand (in the comments) or by the few-line count of the
definition below, never by the code under test.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.batching import max_batch_users
from cure4rec.metrics.calibrated import (
    ReferenceStats,
    candidate_history,
    forget_percentiles,
)
from tests.metrics._fixed import Fixed


def _pct(scores: np.ndarray, forget: list[tuple[int, int]],
         hist: list[tuple[int, int]]) -> list[float]:
    """The definition: (#lower + ½ #tied others) / (#candidates − 1), candidates = items
    outside the user's history plus the user's own forgotten items."""
    out = []
    for u, i in forget:
        own = {j for v, j in forget if v == u}
        seen = {j for v, j in hist if v == u}
        cand = [j for j in range(scores.shape[1]) if j not in seen or j in own]
        o = scores[u, i]
        lower = sum(scores[u, j] < o for j in cand)
        tied = sum(scores[u, j] == o for j in cand) - 1
        out.append((lower + 0.5 * tied) / max(len(cand) - 1, 1))
    return out


def _inter(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    """In the given order (no sorting by user)."""
    u, i = zip(*pairs)
    return Interactions(np.array(u), np.array(i), n_users, n_items)


class Spy(Fixed):
    """A fixed score matrix that records the users of every `score` call."""

    def __init__(self, scores: np.ndarray, dtype: torch.dtype | None = None) -> None:
        super().__init__(scores)
        if dtype is not None:
            self.s = self.s.to(dtype)
        self.calls: list[list[int]] = []

    def score(self, users: np.ndarray) -> torch.Tensor:
        self.calls.append(np.asarray(users).tolist())
        return super().score(users)


def test_default_batch_is_256_users_then_the_rest() -> None:
    # 300 users, one pair each: the model is asked for users 0..255, then 256..299, once
    n_u = 300
    s = np.tile([0.0, 1.0, 2.0], (n_u, 1))
    forget = [(u, u % 3) for u in range(n_u)]
    m = Spy(s)
    got = forget_percentiles(m, _inter(forget, n_u, 3))
    assert m.calls == [list(range(256)), list(range(256, 300))]
    # item 0 below both others: 0; item 1 in the middle: 1/2; item 2 on top: 1
    assert got.tolist() == [[0.0, 0.5, 1.0][u % 3] for u in range(n_u)]


@pytest.mark.parametrize("special", [None, np.inf])
def test_small_batches_partition_the_users(special: float | None) -> None:
    # users 0, 2, 3, 5, 6 have pairs (1 and 4 none), 2 per batch: [0, 2], [3, 5], [6]
    rng = np.random.default_rng(4)
    s = rng.integers(0, 3, size=(7, 5)).astype(float)
    if special is not None:
        s[6, 4] = special  # the last (ragged) batch only takes the ±inf path
    forget = [(3, 1), (0, 2), (6, 0), (2, 4), (3, 0), (5, 3), (0, 1), (6, 4)]
    hist = [(0, 0), (2, 1), (3, 3), (6, 2)]
    want = _pct(s, forget, hist)
    for bu, cap in [(2, None), (256, 2)]:
        m = Spy(s)
        with max_batch_users(cap):
            got = forget_percentiles(m, _inter(forget, 7, 5), _inter(hist, 7, 5),
                                     batch_users=bu, max_elements=7)
        assert m.calls == [[0, 2], [3, 5], [6]]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def test_pairs_interleaved_across_users_keep_their_own_values() -> None:
    # pairs in the order u1, u0, u1, u0, u2, u1 (not grouped by user), finite scores
    s = np.array([[4.0, 1.0, 3.0, 2.0],
                  [1.0, 2.0, 3.0, 4.0],
                  [2.0, 2.0, 1.0, 3.0]])
    forget = [(1, 3), (0, 1), (1, 0), (0, 0), (2, 1), (1, 2)]
    # u0 items {0: 4, 1: 1} among all 4: item 1 lowest 0, item 0 top 1
    # u1 items 3 (top) 1, 0 (lowest) 0, 2 (two below) 2/3
    # u2 item 1 (score 2: item 2 below, item 0 tied): (1 + .5) / 3 = .5
    want = [1.0, 0.0, 0.0, 1.0, 0.5, 2 / 3]
    assert want == pytest.approx(_pct(s, forget, []), abs=1e-15)
    got = forget_percentiles(Fixed(s), _inter(forget, 3, 4))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    for bu in (1, 2):
        got = forget_percentiles(Fixed(s), _inter(forget, 3, 4), batch_users=bu)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32])
def test_score_tensors_of_other_dtypes_are_compared_as_float64(dtype: torch.dtype) -> None:
    # integer counts (a popularity scorer) with a history: the masked cells never matter
    s = np.array([[3, 1, 3, 0, 2], [5, 5, 5, 1, 0]])
    forget = [(0, 2), (1, 1), (0, 4)]
    hist = [(0, 0), (1, 3)]
    # u0 candidates {1, 2, 3, 4}: item 2 (3) above 1, 0, 2 -> 1; item 4 (2) above 1, 0 -> 2/3
    # u1 candidates {0, 1, 2, 4}: item 1 (5) above item 4, tied with 0 and 2 -> (1 + 1) / 3
    want = [1.0, 2 / 3, 2 / 3]
    assert want == pytest.approx(_pct(s.astype(float), forget, hist), abs=1e-15)
    got = forget_percentiles(Spy(s, dtype), _inter(forget, 2, 5), _inter(hist, 2, 5))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def test_two_candidates_on_the_inf_path() -> None:
    # a -inf score sends the batch through the direct comparisons; the history leaves
    # user 0 the two candidates {0, 2}: item 2 above item 0 -> 1 / (2 - 1) = 1
    s = np.array([[-np.inf, 0.9, 0.5]])
    h = _inter([(0, 1)], 1, 3)
    assert forget_percentiles(Fixed(s), _inter([(0, 2)], 1, 3), h).tolist() == [1.0]
    assert forget_percentiles(Fixed(s), _inter([(0, 0)], 1, 3), h).tolist() == [0.0]
    # one candidate left (the pair itself): 0 / max(1 - 1, 1) = 0, not a division by zero
    h1 = _inter([(0, 0), (0, 1)], 1, 3)
    assert forget_percentiles(Fixed(s), _inter([(0, 2)], 1, 3), h1).tolist() == [0.0]


def test_reference_stats_store_the_leave_one_out_null_and_score_with_it() -> None:
    # pairs unit, 3 references, 2 examples; ref percentiles by hand (1 user, 3 items)
    refs_s = [np.array([[0.0, 1.0, 2.0]]), np.array([[2.0, 1.0, 0.0]]),
              np.array([[1.0, 2.0, 0.0]])]
    f = _inter([(0, 0), (0, 2)], 1, 3)
    st = ReferenceStats.build([Fixed(x) for x in refs_s], f, None, "pairs")
    # item 0: 0, 1, 1/2 ; item 2: 1, 0, 0
    np.testing.assert_allclose(st.refs, [[0.0, 1.0], [1.0, 0.0], [0.5, 0.0]], atol=1e-15)
    # leave-one-out: ref 0 vs {1, 2}: item 0 (0 < 1, .5) pos 0, item 2 (1 > 0, 0) pos 1 -> 0
    # ref 1 vs {0, 2}: item 0 (1 > 0, .5) 1, item 2 (0: tied with 0 of ref 2, below 1) .25
    #   -> 2 * .625 - 1 = .25 ; ref 2 vs {0, 1}: item 0 (.5 between) .5, item 2 (0: tied
    #   with ref 1, below ref 0) .25 -> 2 * .375 - 1 = -.25
    np.testing.assert_allclose(st.null, [0.0, 0.25, -0.25], atol=1e-15)
    # a stored null is the one the score uses (noise = sqrt(sum null² / (N − 1)))
    custom = ReferenceStats("pairs", st.refs, np.array([0.3, -0.3, 0.0]))
    got = custom.score(Fixed(refs_s[0]), f, None)
    assert got.noise == pytest.approx(0.3, rel=1e-12)
    # ref 0's own values against the three refs: item 0 (0: tied with itself, below 1, .5)
    # pos 1/6, item 2 (1: tied with itself, above 0, 0) pos 5/6 -> score 0
    assert got.score == pytest.approx(0.0, abs=1e-15)
    assert st.score(Fixed(refs_s[0]), f, None).noise == pytest.approx(
        np.sqrt((0.25 ** 2 + 0.25 ** 2) / 2), rel=1e-12)


def test_candidate_history_is_the_retain_set_itself_without_validation_pairs() -> None:
    retain = _inter([(0, 1), (1, 2)], 2, 3)
    empty = Interactions(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 2, 3)
    assert candidate_history(SimpleNamespace(retain=retain, valid=empty)) is retain
    both = candidate_history(SimpleNamespace(retain=retain, valid=_inter([(1, 0)], 2, 3)))
    assert sorted(zip(both.user.tolist(), both.item.tolist())) == [(0, 1), (1, 0), (1, 2)]
