"""BPR-MF (Rendle et al. 2009): dot-product MF with the pairwise BPR loss and batch L2."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from cure4rec.models.base import MODELS
from cure4rec.models.torch_base import Batch, DotMF, TorchConfig, grad_buffer, l2


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


def bpr_row_grads(u: torch.Tensor, ij: torch.Tensor, reg: float, gu: torch.Tensor,
                  gij: torch.Tensor, tmp: torch.Tensor) -> torch.Tensor:
    """BPR loss on rows, with its gradient written by hand into `gu` and `gij`.

    `u` is `[B, d]`, `ij` stacks the positive then the negative rows (`[2B, d]`); returns
    mean softplus(u·(j - i)) + reg·½(‖u‖²+‖i‖²+‖j‖²)/B and fills `gu`/`gij` (`tmp`: `[B, d]`
    scratch). Per-op overhead, not arithmetic, is what a step costs at batch 4096 × dim 64,
    so this is a few kernels writing into reused buffers (`(u * diff).sum(-1)` rather than
    einsum, which lowers to a bmm 2.5× slower here).
    """
    b = u.shape[0]
    i, j = ij[:b], ij[b:]
    diff = torch.sub(j, i, out=tmp)
    x = torch.mul(u, diff, out=gu).sum(-1)  # gu is scratch until its final value below
    loss = F.softplus(x).mean()
    if reg:
        loss = loss + reg * (torch.dot(u.reshape(-1), u.reshape(-1))
                             + torch.dot(ij.reshape(-1), ij.reshape(-1))) / (2 * b)
    s = (torch.sigmoid(x) / b).unsqueeze(1)  # d softplus(x)/dx = σ(x)
    torch.mul(u, reg / b, out=gu).addcmul_(s, diff)  # ∂/∂u = s(j - i) + r·u
    su = torch.mul(u, s, out=tmp)  # diff is no longer needed
    if reg:
        torch.mul(ij, reg / b, out=gij)
    else:
        gij.zero_()
    gij[:b].sub_(su)  # ∂/∂i = -s·u + r·i
    gij[b:].add_(su)  # ∂/∂j = s·u + r·j
    return loss


class BPRRowsLoss(torch.autograd.Function):
    """`bpr_row_grads` as an autograd Function on `[B, d]` rows, one negative each: the same
    value and gradient as the autograd expression (used when training goes via autograd)."""

    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
                reg: float) -> torch.Tensor:
        ij = torch.cat([i, j])
        gu, gij = torch.empty_like(u), torch.empty_like(ij)
        loss = bpr_row_grads(u, ij, reg, gu, gij, torch.empty_like(u))
        ctx.save_for_backward(gu, gij)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        gu, gij = ctx.saved_tensors
        b = gu.shape[0]
        return gu * grad, gij[:b] * grad, gij[b:] * grad, None


@MODELS.register("bpr")
class BPR(DotMF):
    """Matrix factorisation trained with BPR; L2 on the batch's user, positive, negative rows."""

    name = "bpr"
    Config = BPRConfig

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """BPR loss + reg · ½‖(u, i, j)‖² / B."""
        u, i, j = self.batch_rows(batch)
        if j.dim() == 2:
            return BPRRowsLoss.apply(u, i, j, self.config.reg)
        diff = (u.unsqueeze(1) * (j - i.unsqueeze(1))).sum(-1)
        return F.softplus(diff).mean() + self.config.reg * l2(u, i, j)

    def manual_step_grads(self, batch: Batch) -> torch.Tensor | None:
        """`batch_loss`'s exact gradient by hand (one negative per row; else None = autograd).

        A step is memory-bound (batch 4096 × dim 64, one thread), so it makes as few passes
        over batch-sized tensors as it can: the L2 gradient reg/B per gathered row is applied
        per table row as reg/B × (times the row was gathered) × row (`bincount`, table-sized
        work, like Adam's) instead of per gathered row, and the item rows' ±σ·u gradient is
        scattered straight from one buffer (negated in place for the positives).
        """
        if batch.neg_items.dim() != 1:
            return None
        user, item, ws, reg = self.user_table(), self.item_table(), self.workspace, self.config.reg
        b = len(batch.users)
        with torch.no_grad():
            u = torch.index_select(user, 0, batch.users, out=ws.get("u", b, user))
            i = torch.index_select(item, 0, batch.pos_items, out=ws.get("i", b, item))
            diff = torch.index_select(item, 0, batch.neg_items, out=ws.get("j", b, item)).sub_(i)
            x = torch.mul(u, diff, out=i).sum(-1)  # i is no longer needed: scratch
            loss = F.softplus(x).mean()
            s = (torch.sigmoid(x) / b).unsqueeze(1)  # d softplus(x)/dx = σ(x)
            gu = diff.mul_(s)  # ∂/∂u = σ(x)(j − i)/B
            su = torch.mul(u, s, out=i)  # ∂/∂j = σ(x)u/B = −∂/∂i
            g_user, g_item = grad_buffer(user), grad_buffer(item)
            if reg:
                cu = torch.bincount(batch.users, minlength=self.n_users).to(user.dtype)
                ci = (torch.bincount(batch.pos_items, minlength=self.n_items)
                      + torch.bincount(batch.neg_items, minlength=self.n_items)).to(item.dtype)
                torch.mul(user, cu.mul(reg / b).unsqueeze(1), out=g_user)
                torch.mul(item, ci.mul(reg / b).unsqueeze(1), out=g_item)
                loss = loss + reg * (torch.dot(cu, user.pow(2).sum(1))
                                     + torch.dot(ci, item.pow(2).sum(1))) / (2 * b)
            else:
                g_user.zero_()
                g_item.zero_()
            g_user.index_add_(0, batch.users, gu)
            g_item.index_add_(0, batch.neg_items, su)
            # negate, then add: index_add_ with alpha != 1 takes a path 3x slower on CPU
            g_item.index_add_(0, batch.pos_items, su.neg_())
        return loss
