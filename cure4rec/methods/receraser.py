"""RecEraser (Chen et al., WWW 2022): balanced collaborative partitions, attention aggregation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.methods.base import METHODS, MethodCard
from cure4rec.methods.partition import balanced_kmeans
from cure4rec.methods.retrain import MF_MODELS
from cure4rec.methods.sharded import (
    OwnShard,
    Partition,
    ShardConfig,
    ShardedMethod,
    ShardedRecommender,
)
from cure4rec.models.base import Recommender


class AttentionAggregator:
    """a_j = softmax_j(hᵀReLU(W t_j + b)) over per-shard transforms t_j = W_j e_j + b_j,
    separately for users and items; scores are dot products of the aggregated embeddings."""

    def __init__(self, users: torch.Tensor, items: torch.Tensor) -> None:
        self.users, self.items = users, items

    def score(self, rec: ShardedRecommender, users: np.ndarray) -> torch.Tensor:
        return self.users[torch.as_tensor(users)] @ self.items.T

    @classmethod
    def train(cls, models: list[Recommender], train: Interactions, ctx: RunContext,
              epochs: int, lr: float, l2: float, batch: int | None = None
              ) -> AttentionAggregator:
        """Fit transforms and attention with BPR, the sub-models frozen (no gradient).

        `batch=None`: one full-batch Adam step per epoch (every train pair, one sampled
        negative each). `batch=N`: each epoch is a pass over the shuffled train pairs in
        mini-batches of N, as RecEraser's public code trains its aggregator (`epoch_agg`
        passes of `batch_size`); only the rows a mini-batch touches are aggregated.
        """
        with torch.no_grad():
            # the aggregator is small (K x rows x d): trained and served on the CPU
            eu = torch.stack([m.user_embeddings().cpu() for m in models]).float()  # type: ignore[misc, union-attr]
            ei = torch.stack([m.item_embeddings().cpu() for m in models]).float()  # type: ignore[misc, union-attr]
        k, _, d = eu.shape
        g = ctx.torch_generator()
        a = max(1, d // 2)

        def init(*shape: int) -> torch.Tensor:
            return (torch.randn(*shape, generator=g) * (1.0 / np.sqrt(shape[-2]))).requires_grad_()

        W = torch.eye(d).repeat(k, 1, 1).requires_grad_()
        B = torch.zeros(k, 1, d, requires_grad=True)
        att = {s: (init(d, a), torch.zeros(a, requires_grad=True), init(a, 1)) for s in "ui"}
        params = [W, B, *att["u"], *att["i"]]
        opt = torch.optim.Adam(params, lr=lr)

        def agg(e: torch.Tensor, side: str) -> torch.Tensor:
            t = torch.einsum("knd,kde->kne", e, W) + B
            wa, ba, h = att[side]
            w = torch.softmax((F.relu(t @ wa + ba) @ h).squeeze(-1), dim=0)
            return (w.unsqueeze(-1) * t).sum(0)

        def step(x: torch.Tensor) -> None:
            loss = -F.logsigmoid(x).mean() + l2 * (W.pow(2).sum() + B.pow(2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()

        u, p = torch.tensor(train.user), torch.tensor(train.item)
        for _ in range(epochs):
            if batch is None:
                n = torch.randint(train.n_items, (len(u),), generator=g)
                U, V = agg(eu, "u"), agg(ei, "i")
                step((U[u] * (V[p] - V[n])).sum(1))
                continue
            order = torch.randperm(len(u), generator=g)
            for lo in range(0, len(u), batch):
                rows = order[lo:lo + batch]
                n = torch.randint(train.n_items, (len(rows),), generator=g)
                ub, pb, nb = (agg(eu[:, u[rows]], "u"), agg(ei[:, p[rows]], "i"),
                              agg(ei[:, n], "i"))
                step((ub * (pb - nb)).sum(1))
        with torch.no_grad():
            return cls(agg(eu, "u"), agg(ei, "i"))


@METHODS.register("receraser")
class RecEraser(ShardedMethod):
    """Balanced user/item/interaction partition (UBP/IBP/InBP) + attention aggregation.

    Partition embeddings come from a model trained on the full train set at learn time, so
    the forgotten data shaped the shard layout (as in RecEraser and CURE4Rec); `strict=True`
    re-partitions without it at unlearn time, and then every shard retrains.
    """

    card = MethodCard(
        name="receraser", exact=False, min_effect=0.5,
        exact_wrt="the partition computed once on D (embeddings trained with the forgotten "
                  "users), not A(D − D_f); strict=True re-partitions on D − D_f and is exact",
        reference="Chen et al., Recommendation Unlearning, WWW 2022 (arXiv 2201.06820)",
        models=MF_MODELS + ("lightgcn",), needs=("train", "embeddings"),
        notes="Nearest-first greedy with capacity ceil(1.2N/K) and centroid = mean over "
              "axis 0; the public code's farthest-first sort and axis-less mean are bugs. "
              "Aggregator: agg_epochs full-batch Adam steps by default (agg_batch=None), far "
              "fewer than the public code's agg_epochs mini-batch passes (agg_batch=N); "
              "serve='own-shard' drops the aggregator, as CURE4Rec's released receraser "
              "(docs/methods.md, 'RecEraser's aggregator').")

    @dataclass(frozen=True)
    class Config(ShardConfig):
        partition: Literal["user", "item", "interaction"] = "user"
        iters: int = 30
        slack: float = 1.2
        strict: bool = False
        agg_epochs: int = 50
        agg_lr: float = 0.01
        agg_l2: float = 1e-5
        #: None: `agg_epochs` full-batch steps (the committed leaderboard's RecEraser rows);
        #: N: `agg_epochs` passes in mini-batches of N, as RecEraser's public code
        agg_batch: int | None = None
        #: "attention": the RecEraser paper's aggregator; "own-shard": each user served by
        #: their shard's sub-model, no aggregator (CURE4Rec's released `receraser`)
        serve: Literal["attention", "own-shard"] = "attention"

        def __post_init__(self) -> None:
            super().__post_init__()
            if self.iters < 1 or self.slack < 1.0:
                raise ConfigError("receraser: iters >= 1 and slack >= 1 required")
            if self.agg_batch is not None and self.agg_batch < 1:
                raise ConfigError("receraser: agg_batch must be a positive integer or null")

    def _partition(self, train: Interactions, valid: Interactions | None,
                   ctx: RunContext) -> Partition:
        eu, ei = self.partition_embeddings(train, valid, ctx)
        c, rng = self.config, ctx.rng()
        if c.partition == "user":
            labels = balanced_kmeans(eu, c.shards, rng, c.iters, c.slack)
        elif c.partition == "item":
            labels = balanced_kmeans(ei, c.shards, rng, c.iters, c.slack)
        else:
            labels = balanced_kmeans(eu[train.user], c.shards, rng, c.iters, c.slack,
                                     y=ei[train.item])
        return Partition(c.partition, labels, c.shards)

    def _aggregate(self, models: list[Recommender], part: Partition, train: Interactions,
                   ctx: RunContext) -> AttentionAggregator | OwnShard:
        c = self.config
        if c.serve == "own-shard":
            return OwnShard()
        return AttentionAggregator.train(models, train, ctx, c.agg_epochs, c.agg_lr, c.agg_l2,
                                         c.agg_batch)
