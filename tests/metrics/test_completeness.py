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
    # the lift needs the original; an exact retrain keeps none of it, the original all of it
    lift = completeness_metrics(c.retrains[2], refs, groups, c.fs.retain, c.fs.forget,
                                original=c.original)[0]
    assert abs(lift["forgotten_rank_lift"]) < max(0.15, 3 * lift["forgotten_rank_lift.seed"])
    assert completeness_metrics(c.original, refs, groups, c.fs.retain, c.fs.forget,
                                original=c.original)[0]["forgotten_rank_lift"] == 1.0


class _Fixed:
    """A 'model' serving a fixed score matrix."""

    def __init__(self, s: np.ndarray) -> None:
        self.s = torch.as_tensor(s, dtype=torch.float32)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.s[torch.as_tensor(np.asarray(users), dtype=torch.long)]


def test_ratios_average_over_references_and_over_pairs() -> None:
    from cure4rec.metrics.completeness import group_distances

    rng = np.random.default_rng(3)
    mats = [rng.normal(size=(6, 30)) for _ in range(4)]
    unl, refs = _Fixed(mats[0]), [_Fixed(m) for m in mats[1:]]
    users = np.arange(6)
    gd = group_distances(unl, refs, users, None, k=5)
    pair = (lambda a, b: group_distances(a, [b, b], users, None, k=5).unlearned["js"])
    want_u = np.mean([pair(unl, r) for r in refs], axis=0)
    want_s = np.mean([pair(refs[0], refs[1]), pair(refs[0], refs[2]), pair(refs[1], refs[2])],
                     axis=0)
    assert np.allclose(gd.unlearned["js"], want_u) and np.allclose(gd.seed["js"], want_s)
    assert gd.ratio("js") == pytest.approx(want_u.mean() / want_s.mean())
    # the unlearned model equal to one reference is not "better than seed noise" for free:
    # its distance to the other references still counts
    same = group_distances(refs[0], refs, users, None, k=5)
    assert 0.4 < same.ratio("js") < 1.0


def test_forgotten_rank_ratio_uses_every_reference_pair() -> None:
    from scipy.stats import wasserstein_distance

    from cure4rec.metrics.completeness import forgotten_rank, pair_percentiles

    data = toy_interactions(n_users=8, n_items=30)
    rng = np.random.default_rng(4)
    models = [_Fixed(rng.normal(size=(8, 30))) for _ in range(4)]
    out = forgotten_rank(models[0], models[1:], data)
    p = [pair_percentiles(m, data) for m in models]
    num = np.mean([wasserstein_distance(p[0], q) for q in p[1:]])
    den = np.mean([wasserstein_distance(p[a], p[b]) for a, b in ((1, 2), (1, 3), (2, 3))])
    assert out["forgotten_rank_ratio"] == pytest.approx(num / den)
    assert out["forgotten_rank.retrain"] == pytest.approx(np.mean([q.mean() for q in p[1:]]))
    # constant rows in every model (e.g. ALS gives deleted users zero factors): 0/0 reads 1
    zero = [_Fixed(np.zeros((8, 30))) for _ in range(3)]
    assert forgotten_rank(zero[0], zero[1:], data)["forgotten_rank_ratio"] == 1.0


def test_rank_lift_known_values() -> None:
    from cure4rec.metrics.completeness import rank_lift

    out = rank_lift(0.7, [0.48, 0.52], 0.9)  # reference mean 0.5, lift of the original 0.4
    assert out["forgotten_rank_lift"] == pytest.approx(0.5)
    assert out["forgotten_rank_lift.seed"] == pytest.approx(np.std([0.48, 0.52], ddof=1) / 0.4)
    assert rank_lift(0.3, [0.5, 0.5], 0.9)["forgotten_rank_lift"] == pytest.approx(-0.5)
    assert np.isnan(rank_lift(0.7, [0.5, 0.5], 0.505)["forgotten_rank_lift"])  # nothing lifted
