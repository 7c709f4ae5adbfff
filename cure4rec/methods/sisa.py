"""SISA (Bourtoule et al., S&P 2021) for recommenders: random user shards, optional slices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.methods.base import METHODS, MethodCard
from cure4rec.methods.partition import random_balanced
from cure4rec.methods.sharded import (
    Aggregator,
    MeanScores,
    OwnShard,
    Partition,
    ShardConfig,
    ShardedMethod,
)
from cure4rec.models.base import Recommender


@METHODS.register("sisa")
class SISA(ShardedMethod):
    """K seeded, balanced random user shards; R slices with checkpoints; own-shard or mean."""

    card = MethodCard(
        name="sisa", exact=True,
        reference="Bourtoule et al., Machine Unlearning, IEEE S&P 2021 (arXiv 1912.03817)",
        needs=("train",),
        notes="Users are dealt to shards by a seeded permutation of the whole user index, "
              "so the layout never depends on the data. 'mean' averages raw scores of "
              "independently trained models: a heuristic, their scales differ.")

    @dataclass(frozen=True)
    class Config(ShardConfig):
        slices: int = 1
        aggregation: Literal["own-shard", "mean"] = "own-shard"
        epochs: int | None = None

        def __post_init__(self) -> None:
            super().__post_init__()
            if self.slices < 1:
                raise ConfigError(f"sisa: slices must be >= 1, got {self.slices}")

    @property
    def n_slices(self) -> int:  # type: ignore[override]
        return self.config.slices

    def _epochs(self) -> int:
        return self.config.epochs or super()._epochs()

    def _partition(self, train: Interactions, valid: Interactions | None,
                   ctx: RunContext) -> Partition:
        return Partition("user", random_balanced(train.n_users, self.config.shards, ctx.rng()),
                         self.config.shards)

    def _aggregate(self, models: list[Recommender], part: Partition, train: Interactions,
                   ctx: RunContext) -> Aggregator:
        return OwnShard() if self.config.aggregation == "own-shard" else MeanScores()
