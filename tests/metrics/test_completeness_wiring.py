"""`user_groups` by hand and `completeness_metrics`' wiring (issue 17, `metrics/completeness`
mutation survivors): the published keys are the group distances at the documented defaults
(k = 20, p = 0.9, τ = 1), the reference-pair part is read from the cache when present, and
the original reaches the forgotten-rank lift."""

from __future__ import annotations

import numpy as np
import pytest

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.completeness import (
    UserGroups,
    _raw,
    completeness_metrics,
    forgotten_rank,
    group_distances,
    user_groups,
)
from tests.metrics._fixed import Fixed


def _inter(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    u, i = zip(*pairs)
    return Interactions.from_pairs(np.array(u), np.array(i), n_users, n_items)


def test_user_groups_by_hand() -> None:
    # forgotten user 0 trained items 0, 0's item 1; forget rows: item 0 twice (users 0, 5)
    forget = _inter([(0, 0), (0, 1), (5, 0)], 8, 6)
    retain = _inter([(1, 0), (2, 1), (3, 0), (3, 1), (4, 5), (6, 4), (7, 3)], 8, 6)
    forgotten = np.array([5, 0, 5])
    g = user_groups(retain, forget, forgotten, np.random.default_rng(0))
    assert g.forgotten.tolist() == [0, 5] and g.forgotten.dtype == np.int64
    # co-occurrence: user 1 → 2 (item 0), 2 → 1 (item 1), 3 → 3; users 4, 6, 7 → 0
    assert g.neighbours.tolist() == [1, 2, 3]
    top2 = user_groups(retain, forget, forgotten, np.random.default_rng(0), max_users=2)
    assert top2.neighbours.tolist() == [1, 3]  # the two largest co-occurrences
    assert sorted(g.rest.tolist()) == [4, 6, 7] and len(set(g.rest)) == 3
    assert len(top2.rest) == 2 and set(top2.rest) <= {4, 6, 7}  # sampled without repeats
    # a forgotten user who also holds retained rows is never a neighbour
    retain5 = _inter([(1, 0), (5, 0), (3, 1)], 8, 6)
    g5 = user_groups(retain5, forget, forgotten, np.random.default_rng(0))
    assert g5.neighbours.tolist() == [1, 3] and 5 not in g5.rest


def test_completeness_metrics_are_the_group_distances_at_the_defaults() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items = 10, 30
    retain = _inter([(u, int(i)) for u in range(3, n_users)
                     for i in rng.choice(n_items, 4, replace=False)], n_users, n_items)
    forget = _inter([(u, int(i)) for u in range(3) for i in rng.choice(n_items, 4,
                                                                       replace=False)],
                    n_users, n_items)
    groups = UserGroups(np.arange(3), np.array([3, 4, 5]), np.array([6, 7, 8, 9]))
    un, orig = Fixed(rng.normal(size=(n_users, n_items))), Fixed(rng.normal(size=(n_users, n_items)))
    refs = [Fixed(rng.normal(size=(n_users, n_items))) for _ in range(3)]
    out, per = completeness_metrics(un, refs, groups, retain, forget, original=orig)
    for name, users in groups.items():
        gd = group_distances(un, refs, users, retain, 20, 0.9, 1.0)
        assert per[name].users.tolist() == users.tolist()
        for dist in ("topk_overlap", "rbo", "js"):
            assert out[f"{dist}_ratio.{name}"] == gd.ratio(dist)
            assert out[f"{dist}.{name}"] == _raw(gd.unlearned[dist], dist)
            assert out[f"{dist}.seed.{name}"] == _raw(gd.seed[dist], dist)
            assert out[f"{dist}.seed.{name}"] != out[f"{dist}.{name}"]
    fr = forgotten_rank(un, refs, forget, orig)
    assert "forgotten_rank.original" in fr and all(out[k] == v for k, v in fr.items())
    # other k / p / τ give other values: the defaults above are the ones published
    k10, _ = completeness_metrics(un, refs, groups, retain, forget, k=10)
    p5, _ = completeness_metrics(un, refs, groups, retain, forget, p=0.5)
    t2, _ = completeness_metrics(un, refs, groups, retain, forget, tau=2.0)
    assert k10["topk_overlap.rest"] != out["topk_overlap.rest"]
    assert p5["rbo.rest"] != out["rbo.rest"] and t2["js.rest"] != out["js.rest"]


def test_the_reference_pairs_are_read_from_the_cache() -> None:
    rng = np.random.default_rng(1)
    retain = _inter([(u, int(i)) for u in range(6) for i in rng.choice(12, 3, replace=False)],
                    6, 12)
    users = np.arange(6)
    refs = [Fixed(rng.normal(size=(6, 12))) for _ in range(2)]
    un = Fixed(rng.normal(size=(6, 12)))
    cache: dict = {}
    first = group_distances(un, refs, users, retain, cache=cache)
    (key,) = cache
    (held_refs, held_hist), seed = cache[key]
    assert held_refs == tuple(refs) and held_hist is retain  # keeps the ids valid
    assert all(np.array_equal(seed[n], first.seed[n]) for n in seed)
    planted = {n: np.full(6, 0.25) for n in seed}  # a cached entry is used as is
    cache[key] = (cache[key][0], planted)
    again = group_distances(un, refs, users, retain, cache=cache)
    assert all(np.array_equal(again.seed[n], planted[n]) for n in planted)
    assert all(np.array_equal(again.unlearned[n], first.unlearned[n]) for n in planted)
    other = group_distances(un, refs, users[:3], retain, cache=cache)  # another key
    assert len(cache) == 2 and not np.array_equal(other.seed["js"], planted["js"][:3])
    assert group_distances(un, refs, users, retain).seed["js"] == pytest.approx(
        first.seed["js"])
