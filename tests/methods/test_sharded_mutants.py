"""The sharded machinery of SISA / RecEraser / UltraRE by known answers (issue 17,
`methods/sharded` mutation survivors).

A recording sub-model (`Probe`: it logs the rows, validation pairs, context path, seed,
checkpoint, epoch budget and regularizers of every fit, and scores 1 on its train pairs) and
a method with a fixed partition (`Fixed`) let every answer be worked by hand on an 8-user
matrix: which rows each shard trains and validates on, which shards a deletion touches and
retrains (no deleted user's row anywhere in them), where a sliced shard restarts, the
aggregator's data and context, the per-shard CPU costs (a fake clock), the serving rules,
the slice hash (re-implemented with Python integers), SISA's epoch budget and the cache
blob.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError, MethodContractError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods import sharded
from cure4rec.methods.base import EXACT_WRT_RELEARN, MethodCard, make_method
from cure4rec.methods.sharded import (
    MeanScores,
    OwnShard,
    Partition,
    ShardConfig,
    ShardedMethod,
    ShardedRecommender,
    slice_epochs,
    slice_of,
)
from cure4rec.models.base import FitResult, ModelSpec, Recommender

#: every fit / setup / partition / aggregation, in order (cleared by the `log` fixture)
LOG: list[dict[str, Any]] = []
#: the fake CPU clock `sharded.time.process_time` reads (a Probe fit costs len(train) s)
CLOCK = [100.0]

# 8 users x 6 items; u7 has no train row. Shards (user axis, K = 4): 0 = {u0, u3} (5 rows),
# 1 = {u1, u4} (3 rows), 2 = {u2, u5} (5 rows), 3 = {u6, u7} (1 row).
PAIRS = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 3), (2, 0), (2, 4), (3, 2), (3, 5), (4, 3),
         (5, 4), (5, 5), (5, 0), (6, 1)]
TRAIN = Interactions.from_pairs([u for u, _ in PAIRS], [i for _, i in PAIRS], 8, 6)
VALID = TRAIN.with_arrays(np.array([0, 1, 2, 6, 7]), np.array([3, 0, 1, 2, 4]))
USER_LABELS = np.array([0, 1, 2, 0, 1, 2, 3, 3])
ITEM_LABELS = np.array([0, 0, 1, 1, 2, 2])  # item axis, K = 3
SEED = 6


def key(u: int, i: int) -> int:
    return u * 6 + i


def keys(pairs: list[tuple[int, int]]) -> list[int]:
    return sorted(key(u, i) for u, i in pairs)


class Probe(Recommender):
    """Logs each fit; scores 1 on the pairs it trained on, 0 elsewhere."""

    name = "probe"

    @dataclass(frozen=True)
    class Config:
        epochs: int = 9

    def __init__(self, config: Probe.Config | None = None) -> None:
        self.config = config or Probe.Config()
        self.pairs = np.zeros(0, dtype=np.int64)

    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext, *,
            init_from: Recommender | None = None, regularizers: Any = (),
            epochs: int | None = None) -> FitResult:
        self.n_users, self.n_items = train.n_users, train.n_items
        self.pairs = np.sort(train.keys)
        CLOCK[0] += len(train)
        LOG.append({"kind": "fit", "model": self, "train": self.pairs.tolist(),
                    "valid": None if valid is None else sorted(valid.keys.tolist()),
                    "path": ctx.path, "seed": ctx.seed, "init": init_from,
                    "regs": tuple(regularizers), "epochs": epochs})
        return FitResult()

    def setup(self, train: Interactions, ctx: RunContext) -> None:
        self.n_users, self.n_items = train.n_users, train.n_items
        LOG.append({"kind": "setup", "model": self, "train": sorted(train.keys.tolist()),
                    "path": ctx.path})

    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        flat = torch.zeros(self.n_users * self.n_items)
        flat[torch.as_tensor(self.pairs)] = 1.0
        return flat.view(self.n_users, self.n_items)[torch.as_tensor(np.asarray(users))]

    def user_embeddings(self) -> torch.Tensor:
        return torch.arange(self.n_users, dtype=torch.float32)[:, None] / 3

    def item_embeddings(self) -> torch.Tensor:
        return torch.arange(self.n_items, dtype=torch.float32)[:, None] / 7

    def state_dict(self) -> dict[str, Any]:
        return {"pairs": torch.as_tensor(self.pairs),
                "size": torch.tensor([self.n_users, self.n_items])}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pairs = state["pairs"].numpy()
        self.n_users, self.n_items = (int(x) for x in state["size"])


PROBE = ModelSpec(f"{__name__}:Probe")


class Fixed(ShardedMethod):
    """Shards fixed by `USER_LABELS` / `ITEM_LABELS`, or row position % K per row."""

    card = MethodCard(name="fixed", exact=False, reference="test", notes="Base notes.",
                      min_effect=0.5, exact_wrt="the fixed partition")

    @dataclass(frozen=True)
    class Config(ShardConfig):
        shards: int = 4
        slices: int = 1
        strict: bool = False
        axis: str = "user"

    @property
    def n_slices(self) -> int:  # type: ignore[override]
        return self.config.slices

    def _partition(self, train: Interactions, valid: Interactions | None,
                   ctx: RunContext) -> Partition:
        LOG.append({"kind": "partition", "train": sorted(train.keys.tolist()),
                    "valid": None if valid is None else sorted(valid.keys.tolist()),
                    "path": ctx.path})
        k, axis = self.config.shards, self.config.axis
        if axis == "user":
            return Partition("user", USER_LABELS.copy(), k)
        if axis == "item":
            return Partition("item", ITEM_LABELS.copy(), k)
        return Partition("interaction", np.arange(len(train)) % k, k)

    def _aggregate(self, models: list[Recommender], part: Partition, train: Interactions,
                   ctx: RunContext) -> OwnShard:
        LOG.append({"kind": "aggregate", "models": list(models), "part": part,
                    "train": sorted(train.keys.tolist()), "path": ctx.path, "seed": ctx.seed})
        return OwnShard()


@pytest.fixture(autouse=True)
def log(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    LOG.clear()
    CLOCK[0] = 100.0
    monkeypatch.setattr(sharded, "time", SimpleNamespace(process_time=lambda: CLOCK[0]))
    return LOG


def fits(kind: str = "fit") -> list[dict[str, Any]]:
    return [e for e in LOG if e["kind"] == kind]


def users_request(users: list[int]) -> ForgetRequest:
    u = np.array(users)
    return ForgetRequest("users", TRAIN.subset(TRAIN.users_mask(u)), u)


def rows_request(pairs: list[tuple[int, int]]) -> ForgetRequest:
    rows = np.isin(TRAIN.keys, [key(u, i) for u, i in pairs])
    return ForgetRequest("interactions", TRAIN.subset(rows), np.unique([u for u, _ in pairs]))


def hashed_slice(k: int, n: int, seed: int) -> int:
    """`slice_of` for one key, with Python integers modulo 2**64."""
    m = 2**64
    z = ((k + seed % 2**63) * 0x9E3779B97F4A7C15) % m
    z ^= z >> 31
    z = (z * 0xBF58476D1CE4E5B9) % m
    z ^= z >> 29
    return z % n


def shard_seed(j: int, seed: int = SEED) -> int:
    return RunContext(seed=seed).child("fixed-learn").child(f"shard{j}").derived_seed()


# ------------------------------------------------------------------ small pieces
def test_slice_of_is_the_documented_hash() -> None:
    for seed in (0, 7, 2**62 + 11, 2**63 + 5):  # the last one reduced modulo 2**63
        for n in (2, 3, 5):
            want = [hashed_slice(int(k), n, seed) for k in TRAIN.keys]
            assert slice_of(TRAIN, n, seed).tolist() == want, (seed, n)
    assert slice_of(TRAIN, 3, 2**63 + 5).tolist() == slice_of(TRAIN, 3, 5).tolist()
    assert slice_of(TRAIN, 3, 5).dtype == np.int64
    sub = np.array([1, 4, 9])  # a row's slice never depends on the other rows
    assert np.array_equal(slice_of(TRAIN.subset(sub), 3, 5), slice_of(TRAIN, 3, 5)[sub])


def test_slice_epochs_known_budgets() -> None:
    # avg = 2R/(R+1) * e/R; slice s gets int((s+1) avg) - int(s avg), at least 1
    assert slice_epochs(9, 3) == [4, 5, 4]    # avg 4.5
    assert slice_epochs(9, 4) == [3, 4, 3, 4]  # avg 3.6
    assert slice_epochs(7, 3) == [3, 4, 3]    # avg 3.5
    assert slice_epochs(1, 4) == [1, 1, 1, 1]  # avg 0.4: never below one epoch
    assert slice_epochs(20, 1) == [20]
    assert slice_epochs(5, 2) == [3, 3]       # avg 10/3


def test_shard_config_bounds() -> None:
    assert ShardConfig().shards == 10
    assert ShardConfig(1).shards == 1
    with pytest.raises(ConfigError, match=r"^shards must be >= 1, got 0$"):
        ShardConfig(0)


def test_partition_rows_and_user_shard_by_hand() -> None:
    data = Interactions.from_pairs([0, 0, 0, 1, 2, 2], [0, 2, 1, 3, 1, 3], 4, 4)
    user = Partition("user", np.array([2, 0, 1, 1]), 3)
    assert user.rows(data).tolist() == [2, 2, 2, 0, 1, 1]
    assert user.user_shard(data).tolist() == [2, 0, 1, 1]  # the labels, users without rows too
    item = Partition("item", np.array([1, 0, 1, 2]), 3)
    assert item.rows(data).tolist() == [1, 1, 0, 2, 0, 2]
    # u0: shards 1, 1, 0 -> 1; u1: 2; u2: 0, 2 tie -> the lower, 0; u3: no row -> -1
    assert item.user_shard(data).tolist() == [1, 2, 0, -1]
    inter = Partition("interaction", np.array([2, 2, 0, 1, 1, 1]), 3)
    assert inter.rows(data).tolist() == [2, 2, 0, 1, 1, 1]
    assert inter.user_shard(data).tolist() == [2, 1, 1, -1]
    # the last shard index is a valid majority (counts has K columns)
    assert Partition("item", np.array([2, 2, 2, 2]), 3).user_shard(data).tolist() == [2, 2, 2, -1]


class Const(Recommender):
    """Scores a fixed matrix (float64 if given so)."""

    name = "const"

    def __init__(self, table: torch.Tensor) -> None:
        self.table = table
        self.n_users, self.n_items = table.shape

    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext) -> FitResult:
        raise AssertionError("never trained")

    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        return self.table[torch.as_tensor(np.asarray(users))]

    def state_dict(self) -> dict[str, Any]:
        return {"table": self.table.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.table = state["table"].clone()


def three_models(dtype: torch.dtype = torch.float32) -> list[Recommender]:
    # model j scores user u, item i as 100 j + 10 u + i
    u, i = torch.arange(5)[:, None], torch.arange(3)[None, :]
    return [Const((100 * j + 10 * u + i).to(dtype)) for j in range(3)]


def test_own_shard_serves_each_user_from_their_shard() -> None:
    rec = ShardedRecommender(three_models(), np.array([2, 0, 2, 1, 0]), OwnShard())
    assert (rec.n_users, rec.n_items, rec.n_shards) == (5, 3, 3)
    got = rec.score([3, 0, 4, 2, 1])
    assert got.tolist() == [[130, 131, 132], [200, 201, 202], [40, 41, 42],
                            [220, 221, 222], [10, 11, 12]]
    assert rec.score(np.array([], dtype=np.int64)).shape == (0, 3)
    assert rec.shard_users(2).tolist() == [0, 2] and rec.shard_users(1).tolist() == [3]
    # the aggregator keeps the sub-models' dtype; the served scores are float32
    rec64 = ShardedRecommender(three_models(torch.float64), rec.user_shard, OwnShard())
    assert OwnShard().score(rec64, np.array([1, 3])).dtype == torch.float64
    assert OwnShard().score(rec64, np.array([1, 3])).tolist() == [[10, 11, 12], [130, 131, 132]]
    assert rec64.score([1]).dtype == torch.float32


def test_mean_scores_is_the_plain_mean() -> None:
    rec = ShardedRecommender(three_models(), np.array([2, 0, 2, 1, 0]), MeanScores())
    assert rec.score([4, 1]).tolist() == [[140, 141, 142], [110, 111, 112]]  # (0+100+200)/3


def test_sharded_recommender_plumbing() -> None:
    rec = ShardedRecommender(three_models(), np.array([2, 0, 2, 1, 0], np.int32), OwnShard())
    assert rec.user_shard.dtype == np.int64
    with pytest.raises(MethodContractError) as err:
        rec.fit(TRAIN, None, RunContext())
    assert str(err.value) == "a ShardedRecommender is trained by its unlearning method"
    one = ShardedRecommender(three_models()[2:], np.zeros(5), OwnShard())  # K = 1
    assert (one.n_users, one.n_items, one.n_shards) == (5, 3, 1)
    assert one.score([4])[0].tolist() == [240, 241, 242]
    state = rec.state_dict()
    assert torch.equal(state["user_shard"], torch.tensor([2, 0, 2, 1, 0]))
    assert [torch.equal(s["table"], m.table) for s, m in  # type: ignore[attr-defined]
            zip(state["models"], rec.models)] == [True] * 3
    other = ShardedRecommender(three_models(), [0, 0, 0, 0, 0], OwnShard())
    for m in other.models:
        m.table = m.table * 0  # type: ignore[attr-defined]
    other.load_state_dict(state)
    assert other.user_shard.tolist() == [2, 0, 2, 1, 0]
    assert torch.equal(other.score([0, 3]), rec.score([0, 3]))
    twin = rec.clone()
    twin.user_shard[0] = 1  # type: ignore[attr-defined]
    twin.models[0].table[0, 0] = -1  # type: ignore[attr-defined]
    assert rec.user_shard[0] == 2 and rec.models[0].table[0, 0] == 0  # type: ignore[attr-defined]


def test_aggregator_classes_by_name() -> None:
    from cure4rec.methods.receraser import AttentionAggregator
    from cure4rec.methods.ultrare import LogisticCombiner

    assert sharded._aggregators() == {
        "OwnShard": OwnShard, "MeanScores": MeanScores,
        "AttentionAggregator": AttentionAggregator, "LogisticCombiner": LogisticCombiner}


# ------------------------------------------------------------------ the method's card and knobs
def test_strict_rewrites_the_card_of_an_approximate_method() -> None:
    base = Fixed.card
    assert Fixed(PROBE).card is base and not Fixed(PROBE).strict
    card = Fixed(PROBE, {"strict": True}).card
    assert base.exact_wrt == "the fixed partition" and base.min_effect == 0.5
    assert card.exact and card.exact_wrt == EXACT_WRT_RELEARN and card.min_effect == 0.0
    assert card.notes == ("Base notes. strict=True: re-partitions on the retained data at "
                          "unlearn time (timed, every shard retrains), hence exact w.r.t. "
                          "A(D − D_f).")
    assert Fixed.card is base and not base.exact  # the class's card is left alone

    class ExactFixed(Fixed):
        card = MethodCard(name="fixed", exact=True, reference="test", exact_wrt="the same")

    assert ExactFixed(PROBE, {"strict": True}).card is ExactFixed.card
    assert make_method("sisa", PROBE, {"shards": 2}).strict is False  # no `strict` field
    # one slice and no fixed partition unless a method says otherwise (RecEraser, UltraRE)
    assert ShardedMethod.n_slices == 1 and ShardedMethod.fixed_partition is None


def test_epoch_budget_from_the_model_config() -> None:
    assert Fixed(PROBE)._epochs() == 9
    assert Fixed(ModelSpec(f"{__name__}:Probe", {"epochs": 4}))._epochs() == 4
    m = Fixed(PROBE)
    m.model_spec = SimpleNamespace(build=NoSetup)  # type: ignore[assignment]
    assert m._epochs() == 20  # a model without a config: 20


def test_partition_embeddings_fit_on_the_train_set(log: list[dict[str, Any]]) -> None:
    eu, ei = Fixed(PROBE).partition_embeddings(TRAIN, VALID, RunContext(seed=SEED).child("p"))
    (fit,) = fits()
    assert fit["path"] == ("p", "embed") and fit["train"] == sorted(TRAIN.keys.tolist())
    assert fit["valid"] == sorted(VALID.keys.tolist())
    assert eu.dtype == np.float64 and ei.dtype == np.float64
    assert np.allclose(eu[:, 0], np.arange(8) / 3) and np.allclose(ei[:, 0], np.arange(6) / 7)


# ------------------------------------------------------------------ learn
SHARD_ROWS = {0: [(0, 0), (0, 1), (0, 2), (3, 2), (3, 5)], 1: [(1, 1), (1, 3), (4, 3)],
              2: [(2, 0), (2, 4), (5, 4), (5, 5), (5, 0)], 3: [(6, 1)]}
SHARD_VALID = {0: [(0, 3)], 1: [(1, 0)], 2: [(2, 1)], 3: [(6, 2), (7, 4)]}


def test_learn_trains_each_shard_on_its_rows_and_validation_users(log: list[Any]) -> None:
    m = Fixed(PROBE)
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    assert [e["kind"] for e in LOG] == ["partition", "fit", "fit", "fit", "fit", "aggregate"]
    assert LOG[0]["path"] == ("fixed-learn", "partition")
    assert LOG[0]["train"] == sorted(TRAIN.keys.tolist())
    assert LOG[0]["valid"] == sorted(VALID.keys.tolist())  # e.g. embeddings early-stop on it
    for j, fit in enumerate(fits()):
        assert fit["train"] == keys(SHARD_ROWS[j]), j
        assert fit["valid"] == keys(SHARD_VALID[j]), j
        assert (fit["path"], fit["seed"]) == (("fixed-learn", f"shard{j}"), SEED)
        assert fit["init"] is None and fit["epochs"] is None and fit["regs"] == ()
    rec = state.model
    assert [x["model"] for x in fits()] == rec.models  # type: ignore[attr-defined]
    agg = LOG[-1]
    assert agg["path"] == ("fixed-learn", "aggregator") and agg["models"] == rec.models  # type: ignore[attr-defined]
    assert agg["train"] == sorted(TRAIN.keys.tolist()) and agg["part"].k == 4
    assert isinstance(rec.aggregator, OwnShard)  # type: ignore[attr-defined]
    assert rec.user_shard.tolist() == USER_LABELS.tolist()  # type: ignore[attr-defined]
    assert state.extra["partition"].labels.tolist() == USER_LABELS.tolist()
    assert state.extra["ckpts"] == [[], [], [], []]
    assert state.extra["ctx"].path == ("fixed-learn",) and state.extra["ctx"].seed == SEED
    assert state.extra["shard_cpu_s"] == [5.0, 3.0, 5.0, 1.0]  # the fake clock: 1 s a row
    # own shard: u3 is served by shard 0, which trained (3, 2) and (3, 5)
    assert rec.score([3])[0].tolist() == [0, 0, 1, 0, 0, 1]


def test_learn_without_validation_and_with_a_fixed_partition(log: list[Any]) -> None:
    m = Fixed(PROBE)
    m.fixed_partition = Partition("user", np.array([1, 1, 1, 1, 0, 0, 0, 0]), 2)
    state = m.learn(TRAIN, RunContext(seed=SEED))
    assert not fits("partition")  # the fixed partition is used as is
    assert [f["valid"] for f in fits()] == [None, None]
    assert [f["train"] for f in fits()] == [
        keys([(4, 3), (5, 4), (5, 5), (5, 0), (6, 1)]),
        keys([p for p in PAIRS if p[0] < 4])]
    assert state.model.n_shards == 2  # type: ignore[attr-defined]


def test_item_shards_get_every_validation_pair(log: list[Any]) -> None:
    m = Fixed(PROBE, {"shards": 3, "axis": "item"})
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    items = {j: [p for p in PAIRS if ITEM_LABELS[p[1]] == j] for j in range(3)}
    assert [f["train"] for f in fits()] == [keys(items[j]) for j in range(3)]
    assert [f["valid"] for f in fits()] == [sorted(VALID.keys.tolist())] * 3
    counts = np.zeros((8, 3), int)  # majority shard of each user's rows, -1 without rows
    for u, i in PAIRS:
        counts[u, ITEM_LABELS[i]] += 1
    want = np.where(counts.sum(1) > 0, counts.argmax(1), -1)
    assert state.model.user_shard.tolist() == want.tolist()  # type: ignore[attr-defined]
    assert want[7] == -1


def test_shard_of_one_row_trains_and_an_empty_shard_is_set_up(log: list[Any]) -> None:
    m = Fixed(PROBE, {"shards": 5})  # shard 4 holds no user
    state = m.learn(TRAIN, RunContext(seed=SEED))
    assert fits()[3]["train"] == [key(6, 1)]  # one row: trained
    (setup,) = fits("setup")
    assert setup["train"] == [] and setup["path"] == ("fixed-learn", "shard4")
    assert setup["model"] is state.model.models[4]  # type: ignore[attr-defined]
    assert state.extra["ckpts"][4] == [] and state.extra["shard_cpu_s"][4] == 0.0


class NoSetup(Probe):
    """A model that cannot be served untrained (no `setup`)."""

    name = "no-setup"
    setup = property()  # type: ignore[assignment]  # hasattr(model, "setup") is False

    def __init__(self, config: Any = None) -> None:
        self.pairs = np.zeros(0, dtype=np.int64)


def test_empty_shard_without_setup_is_a_config_error() -> None:
    m = Fixed(PROBE, {"shards": 5})
    m.model_spec = SimpleNamespace(build=NoSetup)  # type: ignore[assignment]
    with pytest.raises(ConfigError) as err:
        m.learn(TRAIN, RunContext(seed=SEED))
    assert str(err.value) == ("fixed: shard 4 has no training data left and model "
                              "'no-setup' cannot serve an untrained sub-model; use fewer "
                              "shards or a native model")


def test_unsliced_shards_pass_their_own_regularizers(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def ucds(train: Interactions, ctx: RunContext) -> str:
        seen.append((sorted(train.keys.tolist()), ctx.path))
        return f"reg{len(seen)}"

    def fit_with(model: Any, train: Any, valid: Any, ctx: Any, regularizers: Any = ()) -> Any:
        model.fit(train, valid, ctx, regularizers=regularizers)
        return model

    monkeypatch.setattr(sharded, "fit_with", fit_with)
    Fixed(PROBE, regularizers=[ucds]).learn(TRAIN, RunContext(seed=SEED), VALID)
    assert seen == [(keys(SHARD_ROWS[j]), ("fixed-learn", f"shard{j}")) for j in range(4)]
    assert [f["regs"] for f in fits()] == [("reg1",), ("reg2",), ("reg3",), ("reg4",)]
    assert [f["valid"] for f in fits()] == [keys(SHARD_VALID[j]) for j in range(4)]


def slices_of(j: int, pairs: list[tuple[int, int]], n: int = 3) -> dict[tuple[int, int], int]:
    return {p: hashed_slice(key(*p), n, shard_seed(j)) for p in pairs}


def test_sliced_shard_trains_slice_by_slice_from_checkpoints(log: list[Any]) -> None:
    regs: list[Any] = []

    def reg(train: Interactions, ctx: RunContext) -> str:
        regs.append((sorted(train.keys.tolist()), ctx.path))
        return "r"

    m = Fixed(PROBE, {"slices": 3}, regularizers=[reg])
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    per = fits()
    assert len(per) == 12  # 4 shards x 3 slices
    for j in range(4):
        sl = slices_of(j, SHARD_ROWS[j])
        for s in range(3):
            f = per[3 * j + s]
            assert f["train"] == keys([p for p in SHARD_ROWS[j] if sl[p] <= s]), (j, s)
            assert f["path"] == ("fixed-learn", f"shard{j}", f"slice{s}")
            assert f["epochs"] == [4, 5, 4][s]  # slice_epochs(9, 3)
            assert f["init"] is (None if s == 0 else per[3 * j + s - 1]["model"])
            assert f["valid"] == keys(SHARD_VALID[j]) and f["regs"] == ("r",)
            assert regs[3 * j + s] == (f["train"], ("fixed-learn", f"shard{j}"))
        assert state.extra["ckpts"][j] == [per[3 * j + s]["model"] for s in range(3)]
        assert state.model.models[j] is per[3 * j + 2]["model"]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ unlearn
def test_unlearn_retrains_only_the_touched_shards_without_the_deleted_users(
        log: list[Any]) -> None:
    m = Fixed(PROBE)
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    before = list(state.model.models)  # type: ignore[attr-defined]
    LOG.clear()
    res = m.unlearn(state, users_request([3, 5]), RunContext(seed=99))
    assert res.info["touched_shards"] == [0, 2] and res.info["share_touched"] == 0.5
    assert res.info["shard_cpu_s"] == [3.0, 2.0]  # rows left: u0's 3, u2's 2
    assert res.timing.share_touched == 0.5
    assert [e["kind"] for e in LOG] == ["fit", "fit", "aggregate"]
    f0, f2, agg = LOG
    assert f0["train"] == keys([(0, 0), (0, 1), (0, 2)])
    assert f2["train"] == keys([(2, 0), (2, 4)])
    assert f0["valid"] == keys([(0, 3)]) and f2["valid"] == keys([(2, 1)])
    for f, j in ((f0, 0), (f2, 2)):  # the learn context: the same seed and path as learning
        assert (f["path"], f["seed"]) == (("fixed-learn", f"shard{j}"), SEED)
        assert not {k // 6 for k in f["train"] + f["valid"]} & {3, 5}
    new = res.model
    assert new.models[0] is f0["model"] and new.models[2] is f2["model"]  # type: ignore[attr-defined]
    assert new.models[1] is before[1] and new.models[3] is before[3]  # type: ignore[attr-defined]
    retained = sorted(k for k in TRAIN.keys.tolist() if k // 6 not in (3, 5))
    assert agg["path"] == ("fixed-learn", "aggregator") and agg["seed"] == SEED
    assert agg["train"] == retained and agg["models"] == new.models  # type: ignore[attr-defined]
    assert agg["part"] is res.state.extra["partition"] and agg["part"].k == 4
    assert sorted(res.state.train.keys.tolist()) == retained
    assert sorted(res.state.valid.keys.tolist()) == keys([(0, 3), (1, 0), (2, 1), (6, 2),
                                                          (7, 4)])  # u3, u5 had none
    assert res.state.extra["ctx"] is state.extra["ctx"]
    assert res.state.extra["ckpts"] == [[], [], [], []]
    assert new.user_shard.tolist() == USER_LABELS.tolist()  # type: ignore[attr-defined]
    assert new.score([3]).sum() == 0 and new.score([0])[0].tolist() == [1, 1, 1, 0, 0, 0]  # type: ignore[attr-defined]
    assert state.model.models == before  # type: ignore[attr-defined]  # the old model kept


def test_unlearning_a_shard_empty_sets_it_up_untrained(log: list[Any]) -> None:
    m = Fixed(PROBE)
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    LOG.clear()
    res = m.unlearn(state, users_request([6]), RunContext(seed=99))
    assert res.info["touched_shards"] == [3] and res.info["share_touched"] == 0.25
    (setup,) = LOG[:-1]
    assert setup["kind"] == "setup" and setup["path"] == ("fixed-learn", "shard3")
    assert res.model.models[3] is setup["model"]  # type: ignore[attr-defined]
    assert res.info["shard_cpu_s"] == [0.0]


def test_interaction_partition_drops_the_forgotten_rows_labels(log: list[Any]) -> None:
    m = Fixed(PROBE, {"shards": 3, "axis": "interaction"})
    state = m.learn(TRAIN, RunContext(seed=SEED))
    label = {p: n % 3 for n, p in enumerate(PAIRS)}
    assert [f["train"] for f in fits()] == [
        keys([p for p in PAIRS if label[p] == j]) for j in range(3)]
    gone = [(0, 1), (5, 5)]  # rows 1 and 11: shards 1 and 2
    LOG.clear()
    res = m.unlearn(state, rows_request(gone), RunContext(seed=99))
    assert res.info["touched_shards"] == [1, 2]
    left = [p for p in PAIRS if p not in gone]
    assert [f["train"] for f in fits()] == [keys([p for p in left if label[p] == j])
                                            for j in (1, 2)]
    part = res.state.extra["partition"]
    assert part.labels.tolist() == [label[p] for p in left] and part.k == 3
    assert fits("aggregate")[0]["part"] is part  # the aggregator sees the new labels
    # the reference keeps the old labels of the retained rows (re-partitioning the retained
    # rows by position would give other labels)
    LOG.clear()
    ref = m.exact_reference(state, rows_request(gone), RunContext(seed=SEED))
    assert not fits("partition")
    assert [f["train"] for f in fits()] == [keys([p for p in left if label[p] == j])
                                            for j in range(3)]
    assert torch.equal(ref.score(np.arange(8)), res.model.score(np.arange(8)))


def test_sliced_unlearning_restarts_at_the_earliest_forgotten_slice(log: list[Any]) -> None:
    m = Fixed(PROBE, {"slices": 3})
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    old = [list(c) for c in state.extra["ckpts"]]
    sl = slices_of(0, SHARD_ROWS[0])
    assert [sl[p] for p in SHARD_ROWS[0]] == [0, 1, 2, 2, 2]  # seed 6 (precondition)
    gone = [(0, 1), (3, 5)]  # slices 1 and 2: training restarts at slice 1
    LOG.clear()
    res = m.unlearn(state, rows_request(gone), RunContext(seed=99))
    assert res.info["touched_shards"] == [0]
    (f1, f2) = fits()
    assert f1["path"][-1] == "slice1" and f2["path"][-1] == "slice2"
    assert f1["init"] is old[0][0] and f2["init"] is f1["model"]
    assert f1["train"] == keys([(0, 0)]) and f1["epochs"] == 5
    assert f2["train"] == keys([(0, 0), (0, 2), (3, 2)]) and f2["epochs"] == 4
    ck = res.state.extra["ckpts"][0]
    assert ck[0] is old[0][0] and ck[1:] == [f1["model"], f2["model"]]
    assert res.model.models[0] is f2["model"]  # type: ignore[attr-defined]
    assert res.state.extra["ckpts"][1:] == old[1:]
    assert res.info["shard_cpu_s"] == [4.0]  # slices of 1 and 3 rows


def test_first_slice_edges() -> None:
    lctx = RunContext(seed=SEED).child("fixed-learn")
    m = Fixed(PROBE, {"slices": 3})
    assert m._first_slice(TRAIN.subset(np.zeros(len(TRAIN), bool)), 0, lctx) == 0
    mine = TRAIN.subset(np.isin(TRAIN.keys, keys(SHARD_ROWS[2])))
    want = min(slices_of(2, SHARD_ROWS[2]).values())
    assert m._first_slice(mine, 2, lctx) == want
    one = TRAIN.subset(np.array([8]))  # (3, 5)
    assert m._first_slice(one, 0, lctx) == hashed_slice(key(3, 5), 3, shard_seed(0))
    assert Fixed(PROBE)._first_slice(mine, 2, lctx) == 0
    two = TRAIN.subset(np.array([2, 7]))  # (0, 2), (3, 2): both in slice 1 of 2 (seed 6)
    assert [hashed_slice(key(*p), 2, shard_seed(0)) for p in [(0, 2), (3, 2)]] == [1, 1]
    assert Fixed(PROBE, {"slices": 2})._first_slice(two, 0, lctx) == 1


def test_strict_unlearning_repartitions_and_retrains_every_shard(log: list[Any]) -> None:
    m = Fixed(PROBE, {"strict": True})
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    LOG.clear()
    res = m.unlearn(state, users_request([1]), RunContext(seed=99))
    retained = sorted(k for k in TRAIN.keys.tolist() if k // 6 != 1)
    assert [e["kind"] for e in LOG] == ["partition", "fit", "fit", "fit", "fit", "aggregate"]
    assert LOG[0]["train"] == retained and LOG[0]["path"] == ("fixed-learn", "partition")
    assert fits()[1]["train"] == keys([(4, 3)]) and fits()[1]["valid"] == []  # u1's pair gone
    assert res.info == {"touched_shards": [0, 1, 2, 3], "share_touched": 1.0,
                        "shard_cpu_s": [5.0, 1.0, 5.0, 1.0]}
    assert sorted(res.state.train.keys.tolist()) == retained
    assert sorted(res.state.valid.keys.tolist()) == keys([(0, 3), (2, 1), (6, 2), (7, 4)])
    assert res.model is res.state.model
    ref = m.exact_reference(state, users_request([1]), RunContext(seed=SEED))
    assert torch.equal(ref.score(np.arange(8)), res.model.score(np.arange(8)))


def test_exact_reference_learns_the_retained_data_on_the_same_partition(
        log: list[Any]) -> None:
    m = Fixed(PROBE)
    m.fixed_partition = Partition("user", np.array([1, 0, 1, 0, 1, 0, 1, 0]), 2)
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    m.fixed_partition = None  # the reference must take the partition from the state
    LOG.clear()
    ref = m.exact_reference(state, users_request([0]), RunContext(seed=SEED))
    assert m.fixed_partition is None  # a twin carries the partition, not the method
    assert not fits("partition") and ref.n_shards == 2  # type: ignore[attr-defined]
    assert [f["train"] for f in fits()] == [
        keys([p for p in PAIRS if p[0] % 2 == 1]),
        keys([p for p in PAIRS if p[0] % 2 == 0 and p[0] != 0])]
    # validation as unlearning sees it: without the deleted u0's pair (0, 3)
    assert [f["valid"] for f in fits()] == [keys([(1, 0), (7, 4)]), keys([(2, 1), (6, 2)])]
    res = m.unlearn(state, users_request([0]), RunContext(seed=99))
    assert [f["valid"] for f in fits()[2:]] == [keys([(2, 1), (6, 2)])]  # shard 1 only
    assert torch.equal(ref.score(np.arange(8)), res.model.score(np.arange(8)))


def test_strict_exact_reference_validates_without_the_deleted_users(log: list[Any]) -> None:
    m = Fixed(PROBE, {"strict": True})
    state = m.learn(TRAIN, RunContext(seed=SEED), VALID)
    LOG.clear()
    m.exact_reference(state, users_request([0, 7]), RunContext(seed=SEED))
    assert fits("partition")[0]["train"] == sorted(k for k in TRAIN.keys.tolist() if k // 6)
    assert [f["valid"] for f in fits()] == [[], keys([(1, 0)]), keys([(2, 1)]),
                                            keys([(6, 2)])]


# ------------------------------------------------------------------ the runner's cache blob
def test_learned_blob_layout_and_round_trip() -> None:
    m = Fixed(PROBE, {"slices": 2})
    state = m.learn(TRAIN, RunContext(seed=SEED))
    blob = m.learned_blob(state)
    assert blob is not None
    assert sorted(blob) == ["aggregator", "ckpts", "models", "partition", "shard_cpu_s",
                            "user_shard"]
    assert blob["aggregator"] == {"class": "OwnShard", "fields": {}, "none": []}
    assert blob["partition"]["axis"] == "user" and blob["partition"]["k"] == 4
    assert blob["partition"]["labels"].tolist() == USER_LABELS.tolist()
    assert blob["user_shard"].tolist() == USER_LABELS.tolist()
    assert [len(c) for c in blob["ckpts"]] == [2, 2, 2, 2]
    assert blob["models"][2]["pairs"].tolist() == keys(SHARD_ROWS[2])
    assert blob["shard_cpu_s"] == state.extra["shard_cpu_s"]
    assert all(type(x) is float for x in blob["shard_cpu_s"])
    back = m.state_from_blob(blob, TRAIN, RunContext(seed=SEED))
    assert back.extra["ctx"].path == ("fixed-learn",) and back.train is TRAIN
    part = back.extra["partition"]
    assert (part.axis, part.k, part.labels.tolist()) == ("user", 4, USER_LABELS.tolist())
    assert type(part.k) is int
    assert [[c.pairs.tolist() for c in ck] for ck in back.extra["ckpts"]] == [
        [c.pairs.tolist() for c in ck] for ck in state.extra["ckpts"]]
    assert back.extra["shard_cpu_s"] == state.extra["shard_cpu_s"]
    assert isinstance(back.model.aggregator, OwnShard)  # type: ignore[attr-defined]
    assert torch.equal(back.model.score(np.arange(8)), state.model.score(np.arange(8)))


def test_learned_blob_keeps_none_fields_and_refuses_what_it_cannot_store() -> None:
    from cure4rec.methods.ultrare import LogisticCombiner

    m = Fixed(PROBE)
    state = m.learn(TRAIN, RunContext(seed=SEED))
    rec = state.model
    rec.aggregator = LogisticCombiner(torch.ones(4), torch.tensor(0.5))  # type: ignore[attr-defined]
    blob = m.learned_blob(state)
    assert blob is not None and blob["aggregator"]["none"] == ["mask"]
    assert sorted(blob["aggregator"]["fields"]) == ["b", "w"]
    back = m.state_from_blob(blob, TRAIN, RunContext(seed=SEED)).model.aggregator  # type: ignore[attr-defined]
    assert type(back) is LogisticCombiner and back.mask is None
    assert torch.equal(back.w, torch.ones(4)) and float(back.b) == 0.5

    class Unknown:  # only tensor fields, but not a class a cache may hold
        def __init__(self) -> None:
            self.w = torch.ones(2)

    rec.aggregator = Unknown()  # type: ignore[attr-defined]
    assert m.learned_blob(state) is None
    odd = OwnShard()
    odd.scale = 2.0  # type: ignore[attr-defined]  # a known class with a non-tensor field
    rec.aggregator = odd  # type: ignore[attr-defined]
    assert m.learned_blob(state) is None
    rec.aggregator = OwnShard()  # type: ignore[attr-defined]
    assert m.learned_blob(state) is not None

    class Opaque(Probe):
        def state_dict(self) -> dict[str, Any]:
            raise TypeError("not plain tensors")

    state.extra["ckpts"] = [[Opaque()], [], [], []]
    assert m.learned_blob(state) is None
