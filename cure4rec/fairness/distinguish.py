"""Distinguishability losses of post-training attribute unlearning (MM'23 PoT-AU).

- U2U: Σ_{i∈G_a, j∈G_b} ‖u_i − u_j‖² in closed form (no n×n matrix),
  = |G_b| Σ_i ‖u_i‖² + |G_a| Σ_j ‖u_j‖² − 2⟨Σ_i u_i, Σ_j u_j⟩; more than two groups: all
  pairs of groups. ``normalize=True`` divides each pair term by |G_a||G_b| (mean pairwise
  distance) and takes the *mean* over the K(K−1)/2 group pairs, which keeps the trade-off
  weight λ independent of the data size and of the number of classes K;
  ``normalize=False`` is the public code's raw sum over pairs and groups.
- D2D: multi-kernel MMD² (5 Gaussian kernels, bandwidths {1/4,1/2,1,2,4} × the detached mean
  pairwise squared distance of the pooled sample, biased V-statistic); more than two groups:
  every group against an anchor group, the largest one (ties: lowest class code).
"""

from __future__ import annotations

import torch

KERNEL_MULTIPLIERS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)


def groups_of(labels: torch.Tensor) -> list[torch.Tensor]:
    """Index tensors of each class present in `labels` (entries < 0 are ignored)."""
    return [torch.nonzero(labels == c).flatten() for c in torch.unique(labels[labels >= 0])]


def u2u_pair(a: torch.Tensor, b: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Σ_{i,j} ‖a_i − b_j‖² in closed form (divided by |a||b| when `normalize`)."""
    na, nb = a.shape[0], b.shape[0]
    total = nb * a.pow(2).sum() + na * b.pow(2).sum() - 2 * (a.sum(0) @ b.sum(0))
    return total / (na * nb) if normalize else total


def u2u_loss(emb: torch.Tensor, labels: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """User-to-user loss over every pair of attribute groups: the mean of the normalised
    `u2u_pair` terms (`normalize`), else their raw sum."""
    gs = groups_of(labels)
    out = emb.new_zeros(())
    for i in range(len(gs)):
        for j in range(i + 1, len(gs)):
            out = out + u2u_pair(emb[gs[i]], emb[gs[j]], normalize)
    n_pairs = len(gs) * (len(gs) - 1) // 2
    return out / n_pairs if normalize and n_pairs > 1 else out


def _sq_dist_sum(x: torch.Tensor, y: torch.Tensor, chunk: int) -> torch.Tensor:
    return sum((torch.cdist(x[s:s + chunk], y).pow(2).sum() for s in range(0, len(x), chunk)),
               x.new_zeros(()))


def _kernel_mean(x: torch.Tensor, y: torch.Tensor, bandwidths: torch.Tensor,
                 chunk: int) -> torch.Tensor:
    total = x.new_zeros(())
    for s in range(0, len(x), chunk):
        d = torch.cdist(x[s:s + chunk], y).pow(2).unsqueeze(-1)
        total = total + torch.exp(-d / bandwidths).sum()
    return total / (len(x) * len(y))


def mmd2(x: torch.Tensor, y: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Biased multi-kernel MMD² between samples `x` and `y` (rows), cdist in row chunks."""
    z = torch.cat([x, y]).detach()
    n = z.shape[0]
    mean_d = _sq_dist_sum(z, z, chunk) / max(n * n - n, 1)
    bw = mean_d.clamp_min(1e-12) * torch.tensor(KERNEL_MULTIPLIERS, dtype=z.dtype,
                                                device=z.device)
    return (_kernel_mean(x, x, bw, chunk) + _kernel_mean(y, y, bw, chunk)
            - 2 * _kernel_mean(x, y, bw, chunk))


def d2d_loss(emb: torch.Tensor, labels: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Distribution-to-distribution loss: Σ_g MMD²(group g, anchor) over non-anchor groups."""
    gs = groups_of(labels)
    if len(gs) < 2:
        return emb.new_zeros(())
    anchor = max(range(len(gs)), key=lambda g: (len(gs[g]), -g))
    return sum((mmd2(emb[gs[g]], emb[gs[anchor]], chunk) for g in range(len(gs))
                if g != anchor), emb.new_zeros(()))
