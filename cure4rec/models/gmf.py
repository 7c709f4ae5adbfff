"""GMF (He et al. 2017, NCF): logit = hᵀ(p_u ⊙ q_i) + b, pointwise BCE, sampled negatives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from cure4rec.models.base import MODELS
from cure4rec.models.mf_bce import sampled_bce
from cure4rec.models.torch_base import Batch, TorchConfig, TorchRecommender, l2


@dataclass(frozen=True)
class GMFConfig(TorchConfig):
    """GMF hyper-parameters."""

    lr: float = 5e-3
    reg: float = 1e-2
    n_negatives: int = 4


class GMFNet(nn.Module):
    """User/item tables plus the output weights `h` and bias `b`."""

    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.user = nn.Parameter(torch.randn(n_users, dim) * 0.1)
        self.item = nn.Parameter(torch.randn(n_items, dim) * 0.1)
        self.h = nn.Parameter(torch.ones(dim))
        self.b = nn.Parameter(torch.zeros(()))


@MODELS.register("gmf")
class GMF(TorchRecommender):
    """Generalised MF; scores all items as (p_u ⊙ h) · q_i + b."""

    name = "gmf"
    Config = GMFConfig

    @property
    def _net(self) -> GMFNet:
        return cast(GMFNet, self.module)

    def _build(self, n_users: int, n_items: int) -> nn.Module:
        return GMFNet(n_users, n_items, self.config.dim)

    def pair_logits(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """hᵀ(p_u ⊙ q_i) + b."""
        net = self._net
        return (self.user_table()[users] * net.h * self.item_table()[items]).sum(-1) + net.b

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_table() * self._net.h, self.item_table()

    def score(self, users):  # type: ignore[no-untyped-def]
        """Scores `[len(users), n_items]` including the bias (float32, CPU)."""
        return super().score(users) + float(self._net.b.detach())

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """Sampled BCE + reg · ½‖(u, i, j)‖² / B."""
        neg_u = batch.users.unsqueeze(1).expand_as(batch.neg_items) \
            if batch.neg_items.dim() == 2 else batch.users
        pos = self.pair_logits(batch.users, batch.pos_items)
        neg = self.pair_logits(neg_u, batch.neg_items)
        reg = l2(self.user_table()[batch.users], self.item_table()[batch.pos_items],
                 self.item_table()[batch.neg_items])
        return sampled_bce(pos, neg) + self.config.reg * reg
