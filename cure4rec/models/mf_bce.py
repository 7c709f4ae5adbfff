"""MF-BCE: dot-product MF trained pointwise with sampled negatives (CURE4Rec's "WMF")."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cure4rec.models.base import MODELS
from cure4rec.models.torch_base import Batch, DotMF, TorchConfig, l2, pos_neg_scores


@dataclass(frozen=True)
class MFBCEConfig(TorchConfig):
    """MF-BCE hyper-parameters."""

    lr: float = 5e-3
    reg: float = 1e-2


def sampled_bce(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Mean BCE-with-logits: positives labelled 1, each negative 0 (per positive)."""
    pos_l = F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos), reduction="none")
    neg_l = F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg), reduction="none")
    return (pos_l + (neg_l.sum(-1) if neg.dim() == 2 else neg_l)).mean()


@MODELS.register("mf-bce")
class MFBCE(DotMF):
    """Dot-product MF with BCE on positives and sampled negatives, L2 on the batch rows.

    This is what the public CURE4Rec code calls "WMF"; the real WMF is `wmf`.
    """

    name = "mf-bce"
    Config = MFBCEConfig

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """Sampled BCE + reg · ½‖(u, i, j)‖² / B."""
        u, i, j = self.batch_rows(batch)
        pos, neg = pos_neg_scores(u, i, j)
        return sampled_bce(pos, neg) + self.config.reg * l2(u, i, j)
