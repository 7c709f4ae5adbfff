"""BPR-MF (Rendle et al. 2009): dot-product MF with the pairwise BPR loss and batch L2."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cure4rec.models.base import MODELS
from cure4rec.models.torch_base import Batch, EmbeddingPair, TorchConfig, TorchRecommender, l2


@dataclass(frozen=True)
class BPRConfig(TorchConfig):
    """BPR-MF hyper-parameters (defaults tuned on ML-100K validation)."""

    lr: float = 5e-3
    reg: float = 1e-2


def pairwise_bpr(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Mean of -log σ(s_pos - s_neg) over the batch (and over negatives when `neg` is 2-D)."""
    if neg.dim() == 2:
        pos = pos.unsqueeze(1)
    return F.softplus(neg - pos).mean()


@MODELS.register("bpr")
class BPR(TorchRecommender):
    """Matrix factorisation trained with BPR; L2 on the batch's user, positive, negative rows."""

    name = "bpr"
    Config = BPRConfig

    def _build(self, n_users: int, n_items: int) -> nn.Module:
        return EmbeddingPair(n_users, n_items, self.config.dim)

    def pair_logits(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Dot product of the user and item rows."""
        return (self.user_table()[users] * self.item_table()[items]).sum(-1)

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """BPR loss + reg · ½‖(u, i, j)‖² / B."""
        u = self.user_table()[batch.users]
        i = self.item_table()[batch.pos_items]
        j = self.item_table()[batch.neg_items]
        if j.dim() == 3:
            diff = (u.unsqueeze(1) * (j - i.unsqueeze(1))).sum(-1)
        else:  # one multiply for s_uj - s_ui
            diff = (u * (j - i)).sum(-1)
        return F.softplus(diff).mean() + self.config.reg * l2(u, i, j)
