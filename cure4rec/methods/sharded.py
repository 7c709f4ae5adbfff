"""Sharded exact unlearning shared by SISA, RecEraser and UltraRE.

`ShardedRecommender` serves K sub-models (all in the full index space) through an
aggregator. `ShardedMethod` partitions at learn time, trains one sub-model per shard
(optionally slice by slice with checkpoints), and at unlearn time retrains only the shards
the request touches, plus the aggregator.

Exactness: shard j is always trained from the context path ``<learn ctx>/shard{j}`` and the
aggregator from ``<learn ctx>/aggregator``, whatever the order or phase, so unlearning equals
learning on the retained data *with the same partition* (`exact_reference`). That is exact
with respect to A(D − D_f), the method learned from scratch on the retained data, only when
the partition does not depend on the forgotten data: SISA's seeded random layout, or
RecEraser / UltraRE with ``strict=True`` (re-partition on the retained data at unlearn time,
every shard retrains). RecEraser and UltraRE by default (the published behaviour) partition
once from embeddings trained on D, forgotten users included: their cards say ``exact=False``
and name the partition as what they are exact relative to.

Cost: every shard's training is timed in CPU seconds (`time.process_time`, all threads);
`UnlearnResult.info["shard_cpu_s"]` lists the retrained shards' costs, from which
`UnlearningMethod.unlearn` derives the parallel cost (everything else + the slowest shard).
"""

from __future__ import annotations

import copy
import time
from abc import abstractmethod
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError, MethodContractError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import (
    EXACT_WRT_RELEARN,
    LearnedState,
    UnlearningMethod,
    UnlearnResult,
)
from cure4rec.methods.retrain import fit_fresh, fit_with
from cure4rec.models.base import FitResult, Recommender

Axis = Literal["user", "item", "interaction"]


class Aggregator(Protocol):
    """Combines the sub-models' outputs into one score matrix."""

    def score(self, rec: ShardedRecommender, users: np.ndarray) -> torch.Tensor: ...


class OwnShard:
    """Each user is served by their own shard's model (CURE4Rec's SISA)."""

    def score(self, rec: ShardedRecommender, users: np.ndarray) -> torch.Tensor:
        shard = rec.user_shard[users]
        out: torch.Tensor | None = None
        for j in np.unique(shard):
            rows = np.flatnonzero(shard == j)
            s = rec.models[int(j)].score(users[rows])
            if out is None:  # on the sub-models' device (and dtype), not always the CPU
                out = torch.zeros(len(users), rec.n_items, dtype=s.dtype, device=s.device)
            out[torch.as_tensor(rows, device=s.device)] = s.to(out.device)
        return out if out is not None else torch.zeros(len(users), rec.n_items)


class MeanScores:
    """Mean of the shards' raw scores: a heuristic, as raw scores of independently trained
    models are not on a common scale."""

    def score(self, rec: ShardedRecommender, users: np.ndarray) -> torch.Tensor:
        return torch.stack([m.score(users) for m in rec.models]).mean(0)


class ShardedRecommender(Recommender):
    """K sub-models + the shard of every user + an aggregator, served as one model.

    `user_shard[u]` is u's shard (for item / interaction partitions: the shard holding most
    of u's train interactions; -1 if none). Fairness code uses it for shardGF.
    """

    name = "sharded"

    def __init__(self, models: list[Recommender], user_shard: np.ndarray,
                 aggregator: Aggregator) -> None:
        self.models, self.aggregator = models, aggregator
        self.user_shard = np.asarray(user_shard, dtype=np.int64)
        self.n_users, self.n_items = models[0].n_users, models[0].n_items

    @property
    def n_shards(self) -> int:
        return len(self.models)

    def shard_users(self, j: int) -> np.ndarray:
        """Users whose shard is `j`."""
        return np.flatnonzero(self.user_shard == j)

    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext) -> FitResult:
        raise MethodContractError("a ShardedRecommender is trained by its unlearning method")

    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.aggregator.score(self, np.asarray(users, dtype=np.int64)).float()

    def state_dict(self) -> dict[str, Any]:
        return {"models": [m.state_dict() for m in self.models],
                "user_shard": torch.as_tensor(self.user_shard)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for m, s in zip(self.models, state["models"]):
            m.load_state_dict(s)
        self.user_shard = np.asarray(state["user_shard"])

    def clone(self) -> Recommender:
        return copy.deepcopy(self)


@dataclass(frozen=True)
class Partition:
    """Shard labels along `axis` (per user index, item index, or train row)."""

    axis: Axis
    labels: np.ndarray
    k: int

    def rows(self, data: Interactions) -> np.ndarray:
        """Shard of every row of `data` (for axis 'interaction', labels align with data)."""
        if self.axis == "user":
            return self.labels[data.user]
        if self.axis == "item":
            return self.labels[data.item]
        return self.labels

    def user_shard(self, data: Interactions) -> np.ndarray:
        """Shard per user index (majority shard of the user's rows for item/interaction)."""
        if self.axis == "user":
            return self.labels
        counts = np.zeros((data.n_users, self.k), dtype=np.int64)
        np.add.at(counts, (data.user, self.rows(data)), 1)
        return np.where(counts.sum(1) > 0, counts.argmax(1), -1)


def slice_of(data: Interactions, n_slices: int, seed: int) -> np.ndarray:
    """Slice of each interaction: a seeded hash of (user, item), so it never depends on
    which other rows exist (learning on retained data gives the same slices)."""
    z = (data.keys.astype(np.uint64) + np.uint64(seed % 2**63)) * np.uint64(0x9E3779B97F4A7C15)
    z ^= z >> np.uint64(31)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(29)
    return (z % np.uint64(n_slices)).astype(np.int64)


def slice_epochs(total: int, n_slices: int) -> list[int]:
    """SISA's epoch budget per slice: avg = 2R/(R+1)·e/R, slice s gets the rounding step."""
    avg = 2 * n_slices / (n_slices + 1) * total / n_slices
    return [max(1, int((s + 1) * avg) - int(s * avg)) for s in range(n_slices)]


@dataclass(frozen=True)
class ShardConfig:
    """Options every sharded method has: the number of shards K."""

    shards: int = 10

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ConfigError(f"shards must be >= 1, got {self.shards}")


class ShardedMethod(UnlearningMethod):
    """Partition, train per shard, aggregate; unlearn retrains touched shards + aggregator."""

    n_slices: int = 1
    fixed_partition: Partition | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base = type(self).card
        if self.strict and not base.exact:  # re-partitioning on D − D_f makes it exact
            self.card = replace(  # type: ignore[misc]
                base, exact=True, exact_wrt=EXACT_WRT_RELEARN, min_effect=0.0,
                notes=base.notes + " strict=True: re-partitions on the retained data at "
                "unlearn time (timed, every shard retrains), hence exact w.r.t. A(D − D_f).")

    @property
    def strict(self) -> bool:
        """Re-partition without the forgotten data at unlearn time (config `strict`, if any)."""
        return bool(getattr(self.config, "strict", False))

    def partition_embeddings(self, train: Interactions, valid: Interactions | None,
                             ctx: RunContext) -> tuple[np.ndarray, np.ndarray]:
        """User and item embeddings (float64) of a model fitted on `train`, to partition by."""
        emb: Any = fit_fresh(self, train, valid, ctx.child("embed"))
        return (emb.user_embeddings().cpu().numpy().astype(np.float64),
                emb.item_embeddings().cpu().numpy().astype(np.float64))

    @abstractmethod
    def _partition(self, train: Interactions, valid: Interactions | None,
                   ctx: RunContext) -> Partition:
        """The shard layout of `train` (seed from `ctx`)."""

    @abstractmethod
    def _aggregate(self, models: list[Recommender], part: Partition, train: Interactions,
                   ctx: RunContext) -> Aggregator:
        """The aggregator serving `models`, trained on `train` if it learns anything."""

    def _epochs(self) -> int:
        return int(getattr(getattr(self.model_spec.build(), "config", None), "epochs", 20))

    def _fit_shard(self, j: int, part: Partition, train: Interactions,
                   valid: Interactions | None, ctx: RunContext,
                   ckpts: list[Recommender] | None = None, start: int = 0,
                   ) -> tuple[Recommender, list[Recommender]]:
        """Train shard j from slice `start` (resuming from `ckpts[start-1]`)."""
        data = train.subset(part.rows(train) == j)
        if part.axis == "user" and valid is not None:
            valid = valid.subset(part.labels[valid.user] == j)
        sctx = ctx.child(f"shard{j}")
        if len(data) == 0:  # e.g. every user of the shard deleted: A(∅) is the initialisation
            return self._untrained(j, data, sctx), []
        if self.n_slices == 1:
            return fit_with(self.model_spec.build(), data, valid, sctx,
                            self.training_regularizers(data, sctx)), []
        sl = slice_of(data, self.n_slices, sctx.derived_seed())
        kept = list((ckpts or [])[:start])
        prev = kept[-1] if kept else None
        for s, ep in enumerate(slice_epochs(self._epochs(), self.n_slices)):
            if s < start:
                continue
            part_s = data.subset(sl <= s)
            model = self.model_spec.build()
            model.fit(part_s, valid, sctx.child(f"slice{s}"), init_from=prev,  # type: ignore[call-arg]
                      regularizers=self.training_regularizers(part_s, sctx), epochs=ep)
            kept.append(model)
            prev = model
        return kept[-1], kept

    def _untrained(self, j: int, data: Interactions, ctx: RunContext) -> Recommender:
        """Shard j's sub-model when it has no data: initialised, never trained.

        Exact by the same rule as every other shard (learning on the shard's data, here
        none); the aggregator then learns how much to trust it.
        """
        model: Any = self.model_spec.build()
        if not hasattr(model, "setup"):
            raise ConfigError(f"{self.card.name}: shard {j} has no training data left and "
                              f"model {model.name!r} cannot serve an untrained sub-model; "
                              "use fewer shards or a native model")
        model.setup(data, ctx)
        return model

    def _learn(self, train: Interactions, valid: Interactions | None,
               ctx: RunContext) -> LearnedState:
        part = self.fixed_partition or self._partition(train, valid, ctx.child("partition"))
        fitted, shard_cpu = [], []
        for j in range(part.k):
            c0 = time.process_time()
            fitted.append(self._fit_shard(j, part, train, valid, ctx))
            shard_cpu.append(time.process_time() - c0)
        models = [m for m, _ in fitted]
        rec = ShardedRecommender(models, part.user_shard(train),
                                 self._aggregate(models, part, train, ctx.child("aggregator")))
        extra = {"partition": part, "ckpts": [c for _, c in fitted], "ctx": ctx,
                 "shard_cpu_s": shard_cpu}
        return LearnedState(rec, train, extra)

    # ------------------------------------------------------------------ learned-state cache
    def learned_blob(self, state: LearnedState) -> dict[str, Any] | None:
        """The learned state as tensors, ints and strings (`torch.load(weights_only=True)`-
        safe), for the runner's cache: the sub-models, the slice checkpoints, the partition,
        the aggregator and the costs. None if a sub-model or aggregator cannot be stored."""
        rec: ShardedRecommender = state.model  # type: ignore[assignment]
        part: Partition = state.extra["partition"]
        agg = rec.aggregator
        fields = dict(vars(agg))
        if type(agg).__name__ not in _aggregators() or not all(
                v is None or isinstance(v, torch.Tensor) for v in fields.values()):
            return None
        try:
            models = [m.state_dict() for m in rec.models]
            ckpts = [[c.state_dict() for c in ck] for ck in state.extra["ckpts"]]
        except Exception:  # e.g. a sub-model without a plain-tensor state
            return None
        return {"models": models, "ckpts": ckpts, "user_shard": torch.as_tensor(rec.user_shard),
                "partition": {"axis": part.axis, "labels": torch.as_tensor(part.labels),
                              "k": int(part.k)},
                "aggregator": {"class": type(agg).__name__,
                               "fields": {k: v for k, v in fields.items() if v is not None},
                               "none": [k for k, v in fields.items() if v is None]},
                "shard_cpu_s": [float(x) for x in state.extra["shard_cpu_s"]]}

    def state_from_blob(self, blob: dict[str, Any], train: Interactions,
                        ctx: RunContext) -> LearnedState:
        """The `LearnedState` that `learned_blob` stored, as `learn(train, ctx)` made it
        (`ctx`: the cell context given to `learn`)."""
        def build(state: dict[str, Any]) -> Recommender:
            m = self.model_spec.build()
            m.load_state_dict(state)
            return m

        models = [build(s) for s in blob["models"]]
        a = blob["aggregator"]
        agg: Any = object.__new__(_aggregators()[a["class"]])
        agg.__dict__.update({**a["fields"], **{k: None for k in a["none"]}})
        rec = ShardedRecommender(models, np.asarray(blob["user_shard"]), agg)
        p = blob["partition"]
        part = Partition(p["axis"], np.asarray(p["labels"]), int(p["k"]))
        extra = {"partition": part, "ckpts": [[build(c) for c in ck] for ck in blob["ckpts"]],
                 "ctx": ctx.child(f"{self.card.name}-learn"),
                 "shard_cpu_s": list(blob["shard_cpu_s"])}
        return LearnedState(rec, train, extra)

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        old: Partition = state.extra["partition"]
        lctx: RunContext = state.extra["ctx"]
        if self.strict:  # re-partition without the forgotten data: every shard retrains
            fresh = self._learn(request.retained(state.train), state.valid, lctx)
            fresh.valid = state.valid
            return UnlearnResult(fresh.model, fresh, state.timing,
                                 {"touched_shards": list(range(old.k)), "share_touched": 1.0,
                                  "shard_cpu_s": list(fresh.extra["shard_cpu_s"])})
        gone = state.train.isin(request.forget)
        retain = state.train.subset(~gone)
        part = replace(old, labels=old.labels[~gone]) if old.axis == "interaction" else old
        gone_data, gone_shard = state.train.subset(gone), old.rows(state.train)[gone]
        touched = np.unique(gone_shard)
        rec: ShardedRecommender = state.model  # type: ignore[assignment]
        models, ckpts = list(rec.models), list(state.extra["ckpts"])
        shard_cpu = []
        for j in touched:
            c0 = time.process_time()
            start = self._first_slice(gone_data.subset(gone_shard == j), int(j), lctx)
            models[j], ckpts[j] = self._fit_shard(int(j), part, retain, state.valid, lctx,
                                                  ckpts[j], start)
            shard_cpu.append(time.process_time() - c0)
        new = ShardedRecommender(models, part.user_shard(retain),
                                 self._aggregate(models, part, retain, lctx.child("aggregator")))
        extra = {**state.extra, "partition": part, "ckpts": ckpts}
        new_state = LearnedState(new, retain, extra, valid=state.valid)
        return UnlearnResult(new, new_state, state.timing,
                             {"touched_shards": [int(j) for j in touched],
                              "share_touched": len(touched) / part.k,
                              "shard_cpu_s": shard_cpu})

    def _first_slice(self, mine: Interactions, j: int, lctx: RunContext) -> int:
        """Earliest slice of shard j holding a forgotten row (training restarts there)."""
        if self.n_slices == 1 or len(mine) == 0:
            return 0
        return int(slice_of(mine, self.n_slices, lctx.child(f"shard{j}").derived_seed()).min())

    def exact_reference(self, state: LearnedState, request: ForgetRequest,
                        ctx: RunContext) -> Recommender:
        """Learn from scratch on the retained data with the state's partition and seeds.

        This is what non-strict unlearning equals by construction; it is *not* A(D − D_f)
        when the partition was computed on D (RecEraser / UltraRE default). The conformance
        kit judges exactness against `learn(D − D_f)` instead, never against this.
        Validation is what `unlearn` retrains with: without a deleted user's pairs.
        """
        valid = request.retained_valid(state.valid)
        if self.strict:
            return self.learn(request.retained(state.train), ctx, valid).model
        part: Partition = state.extra["partition"]
        if part.axis == "interaction":
            part = replace(part, labels=part.labels[~state.train.isin(request.forget)])
        twin = copy.copy(self)
        twin.fixed_partition = part
        return twin.learn(request.retained(state.train), ctx, valid).model


def _aggregators() -> dict[str, type]:
    """The aggregator classes a cached learned state may hold (by class name)."""
    from cure4rec.methods.receraser import AttentionAggregator
    from cure4rec.methods.ultrare import LogisticCombiner

    return {c.__name__: c for c in (OwnShard, MeanScores, AttentionAggregator, LogisticCombiner)}
