"""LightGCN (He et al. 2020): symmetric-normalised propagation, layer mean, BPR loss."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.models.base import MODELS
from cure4rec.models.bpr import pairwise_bpr
from cure4rec.models.torch_base import Batch, EmbeddingPair, TorchConfig, TorchRecommender, l2


@dataclass(frozen=True)
class LightGCNConfig(TorchConfig):
    """LightGCN hyper-parameters; `layers` propagation steps (0 = plain MF)."""

    layers: int = 3
    lr: float = 5e-3
    reg: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.layers < 0:
            raise ConfigError(f"layers must be >= 0, got {self.layers}")


def normalized_adjacency(user: np.ndarray, item: np.ndarray, n_users: int,
                         n_items: int) -> sp.csr_matrix:
    """D^-1/2 A D^-1/2 of the bipartite user-item graph (users first), scipy CSR float32."""
    keys = np.unique(user * np.int64(n_items) + item)  # one edge per distinct pair
    u, i = keys // n_items, keys % n_items + n_users
    rows, cols = np.concatenate([u, i]), np.concatenate([i, u])
    deg = np.bincount(rows, minlength=n_users + n_items).astype(np.float64)
    inv = np.zeros_like(deg)
    inv[deg > 0] = deg[deg > 0] ** -0.5
    n = n_users + n_items
    adj = sp.csr_matrix(((inv[rows] * inv[cols]).astype(np.float32), (rows, cols)), shape=(n, n))
    adj.sort_indices()
    return adj


class SymSpMM(torch.autograd.Function):
    """`A @ E` for a symmetric sparse `A`; the backward reuses `A` (Aᵀ = A).

    On CPU scipy's CSR kernel is used (about 10x faster than torch's CSR matmul on CPU);
    elsewhere a torch sparse CSR copy of `A` on the embedding's device.
    """

    @staticmethod
    def forward(ctx: Any, adj: sp.csr_matrix, emb: torch.Tensor) -> torch.Tensor:
        ctx.adj = adj
        return _spmm(adj, emb)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, _spmm(ctx.adj, grad)


def _spmm(adj: sp.csr_matrix, x: torch.Tensor) -> torch.Tensor:
    if x.device.type == "cpu":
        return torch.from_numpy(adj @ x.detach().numpy()).to(x.dtype)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        a = torch.sparse_csr_tensor(torch.from_numpy(adj.indptr).long(),
                                    torch.from_numpy(adj.indices).long(),
                                    torch.from_numpy(adj.data), adj.shape, device=x.device)
    return a @ x


@MODELS.register("lightgcn")
class LightGCN(TorchRecommender):
    """LightGCN over the train graph; scores with the mean of layers 0..L."""

    name = "lightgcn"
    Config = LightGCNConfig
    config: LightGCNConfig

    def _build(self, n_users: int, n_items: int) -> nn.Module:
        return EmbeddingPair(n_users, n_items, self.config.dim)

    def _set_train(self, train: Interactions) -> None:
        self._edges = (train.user.copy(), train.item.copy())
        self.adj = normalized_adjacency(*self._edges, train.n_users, train.n_items)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer-mean user and item representations (differentiable)."""
        e = torch.cat([self.user_table(), self.item_table()])
        acc = e
        for _ in range(self.config.layers):
            e = SymSpMM.apply(self.adj, e)
            acc = acc + e
        acc = acc / (self.config.layers + 1)
        return acc[: self.n_users], acc[self.n_users:]

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.propagate()

    def pair_logits(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Dot product of the propagated user and item representations."""
        pu, pi = self.propagate()
        return (pu[users] * pi[items]).sum(-1)

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """BPR on propagated representations + reg · ½‖ego (u, i, j)‖² / B."""
        pu, pi = self.propagate()
        u, i, j = pu[batch.users], pi[batch.pos_items], pi[batch.neg_items]
        pos = (u * i).sum(-1)
        neg = (u.unsqueeze(1) * j).sum(-1) if j.dim() == 3 else (u * j).sum(-1)
        ego = (self.user_table()[batch.users], self.item_table()[batch.pos_items],
               self.item_table()[batch.neg_items])
        return pairwise_bpr(pos, neg) + self.config.reg * l2(*ego)

    def _copy_extra(self, other: TorchRecommender) -> None:
        self.adj = other.adj.copy()  # type: ignore[attr-defined]

    def _extra_state(self) -> dict[str, Any]:
        return {"train_user": torch.from_numpy(self._edges[0].copy()),
                "train_item": torch.from_numpy(self._edges[1].copy())}

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        self._edges = (extra["train_user"].numpy(), extra["train_item"].numpy())
        self.adj = normalized_adjacency(*self._edges, self.n_users, self.n_items)
