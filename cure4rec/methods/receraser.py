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
from cure4rec.methods.sharded import Partition, ShardConfig, ShardedMethod, ShardedRecommender
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
              epochs: int, lr: float, l2: float) -> AttentionAggregator:
        """Fit transforms and attention with BPR, the sub-models frozen (no gradient)."""
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

        u, p = torch.tensor(train.user), torch.tensor(train.item)
        for _ in range(epochs):
            n = torch.randint(train.n_items, (len(u),), generator=g)
            U, V = agg(eu, "u"), agg(ei, "i")
            x = (U[u] * (V[p] - V[n])).sum(1)
            loss = -F.logsigmoid(x).mean() + l2 * (W.pow(2).sum() + B.pow(2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
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
              "axis 0; the public code's farthest-first sort and axis-less mean are bugs.")

    @dataclass(frozen=True)
    class Config(ShardConfig):
        partition: Literal["user", "item", "interaction"] = "user"
        iters: int = 30
        slack: float = 1.2
        strict: bool = False
        agg_epochs: int = 50
        agg_lr: float = 0.01
        agg_l2: float = 1e-5

        def __post_init__(self) -> None:
            super().__post_init__()
            if self.iters < 1 or self.slack < 1.0:
                raise ConfigError("receraser: iters >= 1 and slack >= 1 required")

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
                   ctx: RunContext) -> AttentionAggregator:
        c = self.config
        return AttentionAggregator.train(models, train, ctx, c.agg_epochs, c.agg_lr, c.agg_l2)
