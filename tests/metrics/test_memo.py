"""`PassMemo` and the one-pass pair statistics: fewer scoring passes, the same values."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.batching import max_batch_users
from cure4rec.metrics.completeness import pair_percentiles
from cure4rec.metrics.memo import PassMemo
from cure4rec.metrics.mia import pair_stats, pair_z
from cure4rec.metrics.unlearning_mia import pair_features


class Counted:
    """Fixed scores (float32, like the native models) that count the rows they score."""

    def __init__(self, s: np.ndarray) -> None:
        self.s = torch.as_tensor(s, dtype=torch.float32)
        self.rows = 0

    def score(self, users: np.ndarray) -> torch.Tensor:
        self.rows += len(users)
        return self.s[torch.as_tensor(np.asarray(users), dtype=torch.long)]


def _pairs(rng: np.random.Generator, n_users: int, n_items: int, per_user: int
           ) -> Interactions:
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate([rng.choice(n_items, per_user, replace=False)
                            for _ in range(n_users)])
    return Interactions.from_pairs(users, items, n_users, n_items)


def test_pair_stats_is_the_two_separate_passes_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=(40, 60)).round(1)  # rounded: ties across items
    pairs = _pairs(rng, 40, 60, 4)
    users = np.unique(pairs.user)
    for cap in (None, 7, 1):
        with max_batch_users(cap):
            pct, z = pair_stats(Counted(s), pairs, users)
            assert np.array_equal(pct, pair_percentiles(Counted(s), pairs))
            assert np.array_equal(z, pair_z(Counted(s), pairs, users))
    m = Counted(s)
    pair_stats(m, pairs, users)
    assert m.rows == 40  # one pass; the separate ones score every user three times
    some = pairs.subset(pairs.user < 30)  # `users` not the pairs' users: the separate passes
    pct, z = pair_stats(Counted(s), some, users)
    assert np.array_equal(pct, pair_percentiles(Counted(s), some))
    assert np.array_equal(z, pair_z(Counted(s), some, users))


def test_memo_computes_once_per_tag_and_model_and_shares_only_kept_models() -> None:
    class Model:
        pass

    kept, other = Model(), Model()
    shared: dict = {}
    memo = PassMemo(shared, keep=[kept])
    calls: list[str] = []

    def compute(name: str) -> str:
        calls.append(name)
        return name

    assert memo.get("a", kept, lambda: compute("k")) == "k"
    assert memo.get("a", kept, lambda: compute("again")) == "k"
    assert memo.get("b", kept, lambda: compute("kb")) == "kb"  # another tag
    assert memo.get("a", other, lambda: compute("o")) == "o"
    assert memo.get("a", other, lambda: compute("again")) == "o"
    assert calls == ["k", "kb", "o"]
    assert len(shared) == 2  # the unlearned model's results stay with this cell
    later = PassMemo(shared, keep=[kept])  # the next cell of the group
    assert later.get("a", kept, lambda: compute("no")) == "k"
    assert later.get("a", other, lambda: compute("o2")) == "o2"
    # an entry whose model is gone is never read for a new object with the same id
    (key,) = [k for k in shared if k[1] == "b"]

    class Gone:
        pass

    dead = weakref.ref(Gone())  # collected at once: a dead reference
    assert dead() is None
    shared[key] = (dead, "stale")
    assert later.get("b", kept, lambda: compute("fresh")) == "fresh"


def test_shared_entries_do_not_keep_their_models_alive() -> None:
    class Model:
        pass

    shared: dict = {}
    m = Model()
    PassMemo(shared, keep=[m]).get("a", m, lambda: 1)
    gone = weakref.ref(m)
    del m
    gc.collect()
    assert gone() is None  # the cache held only a weak reference
    n = Model()
    PassMemo(shared, keep=[n]).get("a", n, lambda: 2)  # storing drops the dead entry
    assert [v[1] for v in shared.values()] == [2]


def test_pair_features_with_a_memo_match_without_and_score_each_model_once() -> None:
    rng = np.random.default_rng(5)
    before, after = Counted(rng.normal(size=(30, 50))), Counted(rng.normal(size=(30, 50)))
    pairs = _pairs(rng, 30, 50, 3)
    users = np.unique(pairs.user)
    want = pair_features(before, after, pairs, users)
    memo = PassMemo({}, keep=[before])
    before.rows = after.rows = 0
    got = pair_features(before, after, pairs, users, memo, "deleted")
    again = pair_features(before, after, pairs, users, memo, "deleted")
    assert np.array_equal(got, want) and np.array_equal(again, want)
    assert before.rows == after.rows == 30
    assert not pair_features(before, before, pairs, users, memo, "deleted").any()
