"""Retrain-referenced completeness: known answers on toy lists and sanity checks that can fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cure4rec.metrics.completeness import (
    completeness_metrics,
    js_divergence,
    overlap_and_rbo,
    user_groups,
)
from cure4rec.testing.toy import toy_interactions
from tests.metrics._cells import cell


def test_overlap_and_rbo_known_values() -> None:
    a = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 4]])
    b = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    ov, rbo = overlap_and_rbo(a, b, p=0.9)
    assert ov.tolist() == [1.0, 0.0]
    assert rbo[0] == pytest.approx(1.0) and rbo[1] == pytest.approx(0.0)
    # swapped head: X_1 = 0, X_d = d for d ≥ 2 → hand-computed extrapolated RBO
    ov, rbo = overlap_and_rbo(torch.tensor([[1, 2, 3]]), torch.tensor([[2, 1, 3]]), p=0.5)
    expect = 1 * 0.5**3 + (0.5 / 0.5) * (0 * 0.5 + 1 * 0.25 + 1 * 0.125)
    assert ov[0] == 1.0 and rbo[0] == pytest.approx(expect)


def test_js_is_zero_for_same_scores_and_scale_free() -> None:
    s = torch.randn(3, 10, generator=torch.Generator().manual_seed(0))
    assert np.allclose(js_divergence(s, 5 * s + 2), 0.0, atol=1e-9)
    js = js_divergence(s, -s)
    assert (js > 0).all() and (js <= np.log(2) + 1e-9).all()


def test_groups_are_disjoint_and_neighbours_share_items() -> None:
    data = toy_interactions(n_users=60, n_items=40)
    forgotten = np.array([0, 1])
    forget = data.subset(data.users_mask(forgotten))
    retain = data.difference(forget)
    g = user_groups(retain, forget, forgotten, np.random.default_rng(0), max_users=10)
    assert len(g.neighbours) == 10 and not np.intersect1d(g.neighbours, forgotten).size
    assert not np.intersect1d(g.rest, np.r_[g.neighbours, forgotten]).size
    items = set(forget.item.tolist())
    assert all(items & set(retain.item[retain.user == v].tolist()) for v in g.neighbours)


@pytest.mark.slow
def test_retrain_vs_retrain_is_seed_noise_and_original_is_not() -> None:
    c = cell()
    groups = user_groups(c.fs.retain, c.fs.forget, c.fs.request.users,
                         np.random.default_rng(0), 100)
    refs = c.retrains[:2]
    exact, _ = completeness_metrics(c.retrains[2], refs, groups, c.fs.retain, c.fs.forget)
    orig, _ = completeness_metrics(c.original, refs, groups, c.fs.retain, c.fs.forget)
    for key in ("topk_overlap_ratio.forgotten", "rbo_ratio.forgotten", "js_ratio.forgotten",
                "topk_overlap_ratio.neighbours", "js_ratio.neighbours"):
        assert 0.6 < exact[key] < 1.5, (key, exact[key])
    assert exact["forgotten_rank_ratio"] < 3.0
    assert orig["forgotten_rank_ratio"] > 3 * max(exact["forgotten_rank_ratio"], 1.0)
    assert orig["forgotten_rank"] > exact["forgotten_rank"] + 0.15
