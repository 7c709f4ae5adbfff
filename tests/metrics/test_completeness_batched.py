"""`group_distances` scores each model once per batch (issue 13: ADM's 115k-item catalogue
made the per-pair re-scoring of 8 references, 36 pairs, the cost of a cell) and still gives
the pairwise definition's values bit for bit: 1 − overlap / 1 − RBO of the two masked
top-k lists (`overlap_and_rbo` of `ranked`) and `js_divergence` of the two masked rows,
averaged over references and over reference pairs, with softmax rows computed in chunks."""

from __future__ import annotations

import numpy as np
import pytest

import cure4rec.metrics.completeness as comp
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.completeness import _masked, group_distances, js_divergence, overlap_and_rbo
from cure4rec.metrics.ranking import ranked
from tests.metrics._fixed import Fixed


class Counting(Fixed):
    def __init__(self, scores: np.ndarray) -> None:
        super().__init__(scores)
        self.calls = 0

    def score(self, users: np.ndarray):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().score(users)


def _pairwise(a: object, b: object, users: np.ndarray, hist, k: int, p: float, tau: float):
    """The definition, one pair at a time (the round-10 implementation)."""
    sa, sb = _masked(a, users, hist), _masked(b, users, hist)
    ov, rbo = overlap_and_rbo(ranked(sa, k), ranked(sb, k), p)
    return {"topk_overlap": 1 - ov, "rbo": 1 - rbo, "js": js_divergence(sa, sb, tau)}


def _world(seed: int = 0, n_users: int = 23, n_items: int = 40, n_refs: int = 4):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_users, n_items))
    models = [Counting(base + 0.5 * rng.normal(size=base.shape)) for _ in range(n_refs + 1)]
    models[0].s[3, :] = 1.0  # a constant row (sd clamped) and ties across the k-th place
    models[2].s[5, 7] = float("-inf")  # a non-finite score outside the history
    u, i = np.nonzero(rng.random((n_users, n_items)) < 0.15)
    hist = Interactions.from_pairs(u, i, n_users, n_items)
    return models[0], models[1:], hist


@pytest.mark.parametrize("row_bytes", [comp.JS_ROW_BYTES, 16 * 5 * 40 * 3])  # whole / 3 rows
def test_batched_equals_pairwise_bit_for_bit(monkeypatch: pytest.MonkeyPatch,
                                             row_bytes: int) -> None:
    monkeypatch.setattr(comp, "JS_ROW_BYTES", row_bytes)
    unl, refs, hist = _world()
    users = np.array([0, 3, 5, 6, 9, 11, 12, 17, 20, 22, 1])  # 11 rows: a ragged last chunk
    k, p, tau = 5, 0.9, 0.7
    gd = group_distances(unl, refs, users, hist, k, p, tau, batch_users=4)
    csr = hist.csr()
    for name in ("topk_overlap", "rbo", "js"):
        want_u, want_s = [], []
        for s in range(0, len(users), 4):
            b = users[s:s + 4]
            want_u.append(np.mean([_pairwise(unl, r, b, csr, k, p, tau)[name] for r in refs],
                                  axis=0))
            want_s.append(np.mean([_pairwise(refs[x], refs[y], b, csr, k, p, tau)[name]
                                   for x in range(4) for y in range(x + 1, 4)], axis=0))
        assert np.array_equal(gd.unlearned[name], np.concatenate(want_u)), name
        assert np.array_equal(gd.seed[name], np.concatenate(want_s)), name
    assert gd.unlearned["js"].shape == (11,) and np.all(gd.seed["js"] > 0)


def test_each_model_scored_once_per_batch() -> None:
    unl, refs, hist = _world()
    users = np.arange(10)
    group_distances(unl, refs, users, hist, batch_users=4)  # 3 batches
    assert [m.calls for m in (unl, *refs)] == [3] * 5
    cache: dict = {}
    group_distances(unl, refs, users, hist, batch_users=4, cache=cache)
    group_distances(refs[0], refs, users, hist, batch_users=4, cache=cache)  # seeds cached
    assert unl.calls == 6 and refs[0].calls == 3 + 3 + 3 + 3  # as reference twice + unlearned
