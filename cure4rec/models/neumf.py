"""NeuMF (He et al. 2017, NCF): GMF and MLP branches fused by a linear layer, pointwise BCE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn

from cure4rec.errors import ConfigError
from cure4rec.models.base import MODELS
from cure4rec.models.mf_bce import sampled_bce
from cure4rec.models.torch_base import Batch, TorchConfig, TorchRecommender, l2


@dataclass(frozen=True)
class NeuMFConfig(TorchConfig):
    """NeuMF hyper-parameters; `mlp` lists the hidden sizes after the first layer."""

    lr: float = 2e-3
    reg: float = 1e-3
    n_negatives: int = 4
    mlp: tuple[int, ...] = (64, 32)
    score_chunk: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.mlp or min(self.mlp) < 1:
            raise ConfigError(f"mlp must list positive layer sizes, got {self.mlp}")


class NeuMFNet(nn.Module):
    """GMF tables (`user`, `item`), MLP tables, the MLP and the fusion layer."""

    def __init__(self, n_users: int, n_items: int, dim: int, mlp: tuple[int, ...]) -> None:
        super().__init__()
        self.user = nn.Parameter(torch.randn(n_users, dim) * 0.1)
        self.item = nn.Parameter(torch.randn(n_items, dim) * 0.1)
        self.user_mlp = nn.Parameter(torch.randn(n_users, dim) * 0.1)
        self.item_mlp = nn.Parameter(torch.randn(n_items, dim) * 0.1)
        self.first_u = nn.Linear(dim, mlp[0])  # first MLP layer split into user and item parts
        self.first_i = nn.Linear(dim, mlp[0], bias=False)
        layers: list[nn.Module] = []
        for a, b in zip(mlp[:-1], mlp[1:]):
            layers += [nn.ReLU(), nn.Linear(a, b)]
        self.tower = nn.Sequential(*layers, nn.ReLU())
        self.out = nn.Linear(dim + mlp[-1], 1)

    def fuse(self, gmf: torch.Tensor, hu: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """Logit from the GMF product and the two halves of the first MLP layer."""
        return self.out(torch.cat([gmf, self.tower(hu + hi)], -1)).squeeze(-1)


@MODELS.register("neumf")
class NeuMF(TorchRecommender):
    """NeuMF. `user_table()`/`item_table()` are the GMF tables; `user_tables()` gives both."""

    name = "neumf"
    Config = NeuMFConfig
    config: NeuMFConfig

    @property
    def _net(self) -> NeuMFNet:
        return cast(NeuMFNet, self.module)

    def _build(self, n_users: int, n_items: int) -> nn.Module:
        return NeuMFNet(n_users, n_items, self.config.dim, self.config.mlp)

    def user_tables(self) -> tuple[nn.Parameter, nn.Parameter]:
        """The GMF and MLP user tables."""
        return self._net.user, self._net.user_mlp  # type: ignore[return-value]

    def item_tables(self) -> tuple[nn.Parameter, nn.Parameter]:
        """The GMF and MLP item tables."""
        return self._net.item, self._net.item_mlp  # type: ignore[return-value]

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        # No dot product scores NeuMF; the concatenated tables are its representation.
        net = self._net
        return torch.cat([net.user, net.user_mlp], 1), torch.cat([net.item, net.item_mlp], 1)

    def pair_logits(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """NeuMF logit of each pair."""
        net = self._net
        gmf = net.user[users] * net.item[items]
        return net.fuse(gmf, net.first_u(net.user_mlp[users]), net.first_i(net.item_mlp[items]))

    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Logits `[len(users), n_items]`, computed in user chunks (float32, CPU)."""
        net = self._net
        u_all = torch.as_tensor(np.asarray(users), dtype=torch.long, device=self.device)
        out = []
        with torch.no_grad():
            hi = net.first_i(net.item_mlp)  # [I, h]
            for u in u_all.split(self.config.score_chunk):
                gmf = net.user[u].unsqueeze(1) * net.item.unsqueeze(0)
                hu = net.first_u(net.user_mlp[u]).unsqueeze(1)
                out.append(net.fuse(gmf, hu, hi.unsqueeze(0)).float().cpu())
        return torch.cat(out) if out else torch.zeros(0, self.n_items)

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """Sampled BCE + reg · ½‖batch rows of all four tables‖² / B."""
        neg_u = batch.users.unsqueeze(1).expand_as(batch.neg_items) \
            if batch.neg_items.dim() == 2 else batch.users
        pos = self.pair_logits(batch.users, batch.pos_items)
        neg = self.pair_logits(neg_u, batch.neg_items)
        net = self._net
        rows = [net.user[batch.users], net.user_mlp[batch.users]]
        for t in (net.item, net.item_mlp):
            rows += [t[batch.pos_items], t[batch.neg_items].reshape(len(batch.users), -1)]
        return sampled_bce(pos, neg) + self.config.reg * l2(*rows)
