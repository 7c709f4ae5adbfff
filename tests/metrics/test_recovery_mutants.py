"""Functional recovery's bookkeeping against independent values (issue 17, round-11 mutation
survivors; fast, no training): what the method, the unlearning call and the retrained
reference are handed (sets in the grown user space with every field kept, the request, the
named seed streams), the injected profiles drawn again in numpy from the same seeded stream,
the arguments' defaults, the cut-off `k` reaching the exposure and the NDCG, a shared
reference being used as given, and `recovery_reference`.

Models are popularity scorers with distinct integer scores (exact in float32, no ties), so
every exposure and NDCG is a few lines of numpy here; none is produced by the code under test.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.recovery import (
    _recovery,
    functional_recovery,
    inject_fake_users,
    recovery_metrics,
    recovery_reference,
    target_exposure,
    target_rank,
)

# --- models: score(u, i) = n_items · count(i) + (n_items − 1 − i), distinct integers ------


def _pop_scores(data: Interactions) -> np.ndarray:
    n = data.n_items
    return n * np.bincount(data.item, minlength=n).astype(np.float64) + (n - 1 - np.arange(n))


class Pop:
    def __init__(self, log: list | None = None) -> None:
        self.log = log

    def fit(self, train, valid=None, ctx=None):  # type: ignore[no-untyped-def]
        if self.log is not None:
            self.log.append(SimpleNamespace(train=train, valid=valid, ctx=ctx))
        self.fitted_on = train
        self.v = _pop_scores(train)
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(self.v).expand(len(users), -1).clone()


class Fixed:
    def __init__(self, v: np.ndarray) -> None:
        self.v = np.asarray(v, dtype=np.float64)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(self.v).expand(len(users), -1).clone()


def _spec(log: list) -> SimpleNamespace:
    return SimpleNamespace(build=lambda: Pop(log))


class Exact:
    """Learns a popularity model; unlearning refits without the requested users."""

    def __init__(self) -> None:
        self.seen: dict = {}

    def learn(self, data, ctx, valid):  # type: ignore[no-untyped-def]
        self.seen["learn"] = (data, ctx, valid)
        return SimpleNamespace(model=Pop().fit(data), data=data)

    def unlearn(self, state, request, ctx):  # type: ignore[no-untyped-def]
        self.seen["unlearn"] = (request, ctx)
        keep = state.data.subset(~state.data.users_mask(request.users))
        return SimpleNamespace(model=Pop().fit(keep))


# --- the worlds -------------------------------------------------------------------------

def _world(n_u: int = 30, n_i: int = 80, seed: int = 7) -> SimpleNamespace:
    """A split with ratings, timestamps, own tokens, user / item attributes and a name."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_i + 1) ** 0.8
    p /= p.sum()
    tr, va, te = [], [], []
    for u in range(n_u):
        items = rng.choice(n_i, rng.integers(10, 16), replace=False, p=p)
        tr += [(u, int(i)) for i in items[:-3]]
        va.append((u, int(items[-3])))
        te += [(u, int(i)) for i in items[-2:]]
    ut = np.array([f"u{u}" for u in range(n_u)], dtype=object)
    it = np.array([f"i{i}" for i in range(n_i)], dtype=object)
    ua = pd.DataFrame({"gender": ["F" if u % 3 else "M" for u in range(n_u)]})
    ia = pd.DataFrame({"genre": [f"g{i % 4}" for i in range(n_i)]})

    def mk(pairs: list[tuple[int, int]], name: str) -> Interactions:
        u, i = (np.array(x) for x in zip(*pairs))
        return Interactions(u, i, n_u, n_i, rng.integers(1, 6, len(u)).astype(float),
                            rng.random(len(u)) * 1e6, ut, it, ua, ia, name)

    return SimpleNamespace(train=mk(tr, "train"), valid=mk(va, "valid"), test=mk(te, "test"))


def _small_world() -> SimpleNamespace:
    """25 items, exactly 5 of degree 1 (the median; items 17-24 never seen): the defaults
    (5 targets, 20 fillers = every other item) fit exactly."""
    pairs = [(u, i) for i in range(12) for u in range(2 + i % 5)]  # degrees 2..6
    pairs += [(i % 6, 12 + i) for i in range(5)]  # items 12..16: degree 1
    u, i = (np.array(x) for x in zip(*pairs))
    train = Interactions(u, i, 6, 25, name="train")
    valid = Interactions(np.array([0, 1]), np.array([20, 21]), 6, 25, name="valid")
    test = Interactions(np.array([0, 2, 3]), np.array([22, 23, 24]), 6, 25, name="test")
    return SimpleNamespace(train=train, valid=valid, test=test)


# --- independent re-implementations -----------------------------------------------------

def _draw(train: Interactions, n_fake: int, n_targets: int, n_filler: int,
          rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """The protocol in numpy: targets drawn among items of degree in (0, median]; each
    fake's fillers a random n_filler of the 50 most popular non-targets (ties: lower id)."""
    deg = np.bincount(train.item, minlength=train.n_items)
    unpop = [i for i in range(train.n_items) if 0 < deg[i] <= np.median(deg)]
    targets = np.sort(rng.choice(np.array(unpop), n_targets, replace=False))
    ranked = sorted(range(train.n_items), key=lambda i: (-deg[i], i))
    popular = np.array([i for i in ranked if i not in set(targets.tolist())][:50])
    order = np.argsort(rng.random((n_fake, len(popular))), axis=1)[:, :n_filler]
    return targets, [np.r_[targets, popular[o]] for o in order]


def _exposure(v: np.ndarray, real: Interactions, targets: np.ndarray, k: int) -> float:
    own = real.csr().toarray().astype(bool)
    users = np.flatnonzero(own.any(1))
    hit = [np.isin(np.argsort(-np.where(own[u], -np.inf, v))[:k], targets).any() for u in users]
    return float(np.mean(hit))


def _ndcg(v: np.ndarray, real: Interactions, test: Interactions, k: int) -> float:
    own = real.csr().toarray().astype(bool)
    rel = test.csr().toarray().astype(bool)
    out = []
    for u in np.flatnonzero(rel.any(1)):
        top = np.argsort(-np.where(own[u], -np.inf, v))[:k]
        dcg = sum(1 / np.log2(r + 2) for r, i in enumerate(top) if rel[u, i])
        idcg = sum(1 / np.log2(r + 2) for r in range(min(rel[u].sum(), k)))
        out.append(dcg / idcg)
    return float(np.mean(out))


def _same_fields(x: Interactions, src: Interactions, grown: Interactions) -> None:
    """`x` is `src` re-spaced into `grown`'s user space, every other field kept."""
    assert x.n_users == grown.n_users and x.n_items == src.n_items
    assert x.user.tolist() == src.user.tolist() and x.item.tolist() == src.item.tolist()
    assert x.rating.tolist() == src.rating.tolist()
    assert x.timestamp.tolist() == src.timestamp.tolist()
    assert list(x.user_tokens) == list(grown.user_tokens)
    assert list(x.item_tokens) == list(src.item_tokens)
    pd.testing.assert_frame_equal(x.user_attributes, grown.user_attributes)
    assert x.item_attributes is src.item_attributes
    assert x.name == src.name


# --- inject_fake_users --------------------------------------------------------------------

def test_injected_profiles_are_the_seeded_draw_with_every_field_kept() -> None:
    w = _world()
    train = w.train
    data, fake, targets = inject_fake_users(train, 7, 3, 10, np.random.default_rng(5))
    want_t, want_items = _draw(train, 7, 3, 10, np.random.default_rng(5))
    assert targets.tolist() == want_t.tolist()
    assert fake.tolist() == list(range(30, 37)) and data.n_users == 37
    for f, items in zip(fake, want_items):
        assert data.item[data.user == f].tolist() == items.tolist()
    real = data.user < 30
    assert data.user[real].tolist() == train.user.tolist()
    assert data.item[real].tolist() == train.item.tolist()
    # tokens, attributes and the name of the grown set
    assert list(data.user_tokens) == [f"u{u}" for u in range(30)] + [f"fake{i}" for i in range(7)]
    assert list(data.item_tokens) == [f"i{i}" for i in range(80)]
    assert data.item_attributes is train.item_attributes
    assert data.name == "train+fake"
    ua = data.user_attributes
    assert list(ua.columns) == ["gender"] and ua.index.tolist() == list(range(37))
    assert ua["gender"].iloc[:30].tolist() == train.user_attributes["gender"].tolist()
    assert ua["gender"].iloc[30:].isna().all()


def test_injection_bounds_on_targets_and_fillers() -> None:
    w = _world()
    # 50 fillers at most (the 50 most popular), whatever the catalogue size
    inject_fake_users(w.train, 2, 3, 50, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="cannot pick 3 targets and 51 fillers from 80 items"):
        inject_fake_users(w.train, 2, 3, 51, np.random.default_rng(0))
    # 25 items, 5 targets: exactly the 20 others can be fillers, not 21
    small = _small_world().train
    data, _, targets = inject_fake_users(small, 2, 5, 20, np.random.default_rng(0))
    assert targets.tolist() == [12, 13, 14, 15, 16]
    assert sorted(data.item[data.user == 6].tolist()) == list(range(25))
    with pytest.raises(ConfigError, match="cannot pick 5 targets and 21 fillers from 25 items"):
        inject_fake_users(small, 2, 5, 21, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="cannot pick 6 targets"):
        inject_fake_users(small, 2, 6, 1, np.random.default_rng(0))


def test_recovery_ratio_at_the_noise_floor_is_nan() -> None:
    # lift 0.75 − 0.25 = 0.5 exactly (binary fractions): not above a floor of 0.5
    assert np.isnan(_recovery(0.75, 0.5, 0.25, 0.5))
    assert _recovery(0.75, 0.5, 0.25, 0.375) == 0.5


def test_target_exposure_default_cut_off_is_20_and_no_users_is_a_quiet_nan() -> None:
    # one user, 25 items scored 25, 24, ..., 1: item j sits at rank j + 1
    model = Fixed(25.0 - np.arange(25))
    none = Interactions(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 1, 25)
    assert target_exposure(model, np.array([0]), none, np.array([19])) == 1.0  # rank 20
    assert target_exposure(model, np.array([0]), none, np.array([20])) == 0.0  # rank 21
    empty = np.zeros(0, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice": the empty case is explicit
        assert np.isnan(target_exposure(model, empty, none, np.array([3])))
        assert np.isnan(target_rank(model, empty, none, np.array([3])))


# --- functional_recovery ------------------------------------------------------------------

def test_what_learn_unlearn_and_the_retrain_are_handed() -> None:
    w = _world()
    log: list = []
    method = Exact()
    ctx = RunContext(seed=3)
    out = functional_recovery(method, _spec(log), w, ctx, n_fake=30, n_targets=3,
                              n_filler=10, k=5)
    data, lctx, valid = method.seen["learn"]
    request, uctx = method.seen["unlearn"]
    # the seeded stream of the injection: seed 3, path functional-recovery / inject
    rng = RunContext(seed=3).child("functional-recovery").child("inject").rng()
    targets, items = _draw(w.train, 30, 3, 10, rng)
    fake = np.arange(30, 60)
    for f, it in zip(fake, items):
        assert data.item[data.user == f].tolist() == it.tolist()
    assert lctx.path == ("functional-recovery", "learn") and lctx.seed == 3
    assert uctx.path == ("functional-recovery", "unlearn") and uctx.seed == 3
    _same_fields(valid, w.valid, data)
    assert request.kind == "users" and request.users.tolist() == fake.tolist()
    assert request.forget.name == "forget"
    assert sorted(zip(request.forget.user.tolist(), request.forget.item.tolist())) == sorted(
        (int(f), int(i)) for f, it in zip(fake, items) for i in it)
    # the retrained reference: fitted once, on the real train set in the grown space
    assert len(log) == 1
    _same_fields(log[0].train, w.train, data)
    _same_fields(log[0].valid, w.valid, data)
    assert log[0].ctx.path == ("functional-recovery", "retrain") and log[0].ctx.seed == 3

    # exposures and NDCG at k = 5, by hand
    real = log[0].train
    v_orig, v_real = _pop_scores(data), _pop_scores(w.train)
    test = w.test
    for name, v in (("original", v_orig), ("unlearned", v_real), ("retrain", v_real)):
        assert out[f"exposure.{name}"] == _exposure(v, real, targets, 5)
        assert out[f"ndcg@5.{name}"] == pytest.approx(_ndcg(v, real, test, 5), rel=1e-6)
    assert set(out) == {f"{s}.{n}" for s in ("exposure", "rank", "ndcg@5")
                        for n in ("original", "unlearned", "retrain")} | {
        "recovery", "recovery_rank"}
    assert out["exposure.original"] > out["exposure.retrain"] + 0.5  # the attack works
    assert out["recovery"] == 1.0


def test_a_shared_reference_is_used_as_given() -> None:
    w = _world()
    log: list = []
    ref_v = np.arange(80, dtype=np.float64)  # ranks the highest ids first
    ctx = RunContext(seed=3)
    out = functional_recovery(Exact(), _spec(log), w, ctx, n_fake=30, n_targets=3,
                              n_filler=10, k=5, reference=Fixed(ref_v))
    assert log == []  # nothing retrained
    rng = RunContext(seed=3).child("functional-recovery").child("inject").rng()
    targets, _ = _draw(w.train, 30, 3, 10, rng)
    real = Interactions(w.train.user, w.train.item, 60, 80)
    assert out["exposure.retrain"] == _exposure(ref_v, real, targets, 5)
    assert out["ndcg@5.retrain"] == pytest.approx(_ndcg(ref_v, real, w.test, 5), rel=1e-6)
    # recovery_metrics: the attack at its defaults (50 fakes, 5 targets, 20 fillers)
    keys = recovery_metrics(Exact(), _spec(log), w, ctx, reference=Fixed(ref_v), k=5)
    assert log == []
    rng = RunContext(seed=3).child("functional-recovery").child("inject").rng()
    targets, _ = _draw(w.train, 50, 5, 20, rng)
    real = Interactions(w.train.user, w.train.item, 80, 80)
    assert keys["completeness.recovery_exposure.retrain"] == _exposure(ref_v, real, targets, 5)
    assert keys["completeness.recovery_ndcg@5.retrain"] == pytest.approx(
        _ndcg(ref_v, real, w.test, 5), rel=1e-6)
    assert keys["completeness.recovery_exposure"] == _exposure(_pop_scores(w.train), real,
                                                                targets, 5)


def test_defaults_50_fakes_5_targets_20_fillers_k_20() -> None:
    w = _small_world()
    log: list = []
    method = Exact()
    out = functional_recovery(method, _spec(log), w, RunContext(seed=1))
    data = method.seen["learn"][0]
    # 50 fakes, each with the 5 targets (the degree-1 items) and the 20 other items
    assert data.n_users == 6 + 50 and len(data) == len(w.train) + 50 * 25
    assert set(out) >= {"ndcg@20.original", "exposure.retrain", "recovery"}
    keys = recovery_metrics(method, _spec(log), w, RunContext(seed=1))
    assert "completeness.recovery_ndcg@20" in keys
    assert keys["completeness.recovery_ndcg@20.retrain"] == out["ndcg@20.retrain"]


# --- recovery_reference -------------------------------------------------------------------

def test_recovery_reference_is_the_retrain_functional_recovery_fits() -> None:
    w = _small_world()
    log: list = []
    ref = recovery_reference(_spec(log), w, RunContext(seed=2))  # the defaults fit exactly
    assert len(log) == 1 and ref is not None
    (call,) = log
    assert call.ctx.path == ("functional-recovery", "retrain") and call.ctx.seed == 2
    assert call.train.n_users == 56 and call.valid.n_users == 56
    assert call.train.user.tolist() == w.train.user.tolist()
    assert call.train.item.tolist() == w.train.item.tolist()
    assert call.valid.item.tolist() == [20, 21]
    assert ref.fitted_on is call.train
    ww = _world()
    log2: list = []
    ref2 = recovery_reference(_spec(log2), ww, RunContext(seed=3), n_fake=30, n_targets=3,
                              n_filler=10)
    grown = SimpleNamespace(n_users=60, user_tokens=[f"u{u}" for u in range(30)]
                            + [f"fake{i}" for i in range(30)],
                            user_attributes=ww.train.user_attributes.reindex(range(60)))
    _same_fields(log2[0].train, ww.train, grown)  # type: ignore[arg-type]
    _same_fields(log2[0].valid, ww.valid, grown)  # type: ignore[arg-type]
    # and the model it returns scores as functional_recovery's own retrain
    np.testing.assert_array_equal(ref2.v, _pop_scores(ww.train))
    with pytest.raises(ConfigError, match="cannot pick 6 targets"):
        recovery_reference(_spec([]), w, RunContext(seed=2), n_targets=6)
    with pytest.raises(ConfigError, match="21 fillers"):
        recovery_reference(_spec([]), w, RunContext(seed=2), n_filler=21)
