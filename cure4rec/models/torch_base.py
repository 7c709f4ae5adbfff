"""TorchRecommender: the base of the native torch models (shared fit, scoring, state).

A subclass declares its parameters in `_build` (an `nn.Module`), its training loss in
`batch_loss` and its pairwise logit in `pair_logits`; fitting, early stopping on validation,
warm starts, regularizers and serialisation are shared (see `cure4rec.models.trainer`).
"""

from __future__ import annotations

import copy
import json
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cure4rec.config import config_from_dict, config_to_dict
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.models.base import FitResult, Recommender


@dataclass(frozen=True)
class TorchConfig:
    """Hyper-parameters shared by the native models trained with the shared trainer."""

    dim: int = 64
    epochs: int = 200
    batch_size: int = 4096
    lr: float = 1e-3
    reg: float = 1e-4
    patience: int = 10
    eval_every: int = 1
    valid_metric: str = "ndcg@20"
    n_negatives: int = 1
    # One intra-op thread by default: a step's tensors are small (4096 x 64), so extra threads
    # save little, and on a shared 2-core machine OpenMP's spinning threads made the LightGCN
    # spmm 10-20x slower (measured). `None` = every CPU; a RunContext's `threads` wins.
    threads: int | None = 1
    progress: bool = False

    def __post_init__(self) -> None:
        for name in ("dim", "epochs", "batch_size", "patience", "eval_every", "n_negatives"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.reg < 0:
            raise ConfigError(f"lr must be > 0 and reg >= 0, got lr={self.lr}, reg={self.reg}")
        metric, _, k = self.valid_metric.partition("@")
        if metric not in ("ndcg", "recall", "hr", "precision", "mrr") or not k.isdigit():
            raise ConfigError(f"valid_metric must look like 'ndcg@20', got {self.valid_metric!r}")


@dataclass
class Batch:
    """A training batch: users, their positive items and sampled negatives (`[B]` or `[B, n]`)."""

    users: torch.Tensor
    pos_items: torch.Tensor
    neg_items: torch.Tensor


Regularizer = Callable[["TorchRecommender", Batch], torch.Tensor]


def rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`table[index]` by `index_select`: its backward is an `index_add`, much faster on CPU
    than the accumulating `index_put` of advanced indexing (measured ~1.5 ms/batch on BPR)."""
    out = table.index_select(0, index.reshape(-1))
    return out.reshape(*index.shape, table.shape[-1])


def grad_buffer(param: nn.Parameter) -> torch.Tensor:
    """`param.grad`, allocated on first use and then reused (contents left as they are): a
    hand-written backward fills it in place instead of autograd allocating a fresh table."""
    if param.grad is None:
        param.grad = torch.zeros_like(param)
    return param.grad


class Workspace:
    """Reusable scratch tensors for a hand-written training step, one per name.

    Fresh 1-2 MB temporaries each step cost page faults and cache misses when glibc hands
    the memory back and forth (measured up to 40 % of a BPR epoch as system time).
    """

    def __init__(self) -> None:
        self._bufs: dict[str, torch.Tensor] = {}

    def get(self, name: str, rows: int, like: torch.Tensor) -> torch.Tensor:
        """An uninitialised `[rows, like.shape[1]]` tensor with `like`'s dtype and device."""
        buf = self._bufs.get(name)
        if (buf is None or buf.shape[0] < rows or buf.shape[1:] != like.shape[1:]
                or buf.dtype != like.dtype or buf.device != like.device):
            buf = self._bufs[name] = like.new_empty((rows, *like.shape[1:]))
        return buf[:rows]


def l2(*tensors: torch.Tensor) -> torch.Tensor:
    """Half the squared L2 norm of the batch rows, summed over tensors, mean over the batch."""
    n = tensors[0].shape[0]
    # a dot product per tensor: one kernel each way (pow(2)'s backward was 1/3 of a BPR step)
    flat = [t.reshape(-1) for t in tensors]
    return sum(torch.dot(f, f) for f in flat) / (2 * n)  # type: ignore[return-value]


class TorchRecommender(Recommender):
    """A recommender whose parameters live in a torch module trained by the shared trainer."""

    Config: ClassVar[type[TorchConfig]] = TorchConfig

    def __init__(self, config: TorchConfig | dict[str, Any] | None = None) -> None:
        self.config = config_from_dict(self.Config, config, where=f"model {self.name}")
        self.net: nn.Module | None = None
        self.n_users = 0
        self.n_items = 0
        self._cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def _build(self, n_users: int, n_items: int) -> nn.Module:
        """A freshly initialised module (called under a seeded torch RNG)."""

    def _set_train(self, train: Interactions) -> None:
        """Hook for models that keep a structure derived from the train set (graphs)."""

    @abstractmethod
    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """The model's own training loss (mean over the batch, incl. its L2 term)."""

    def manual_step_grads(self, batch: Batch) -> torch.Tensor | None:
        """Optional fast path: write the exact gradient of `batch_loss(batch)` into every
        parameter's `.grad` and return the (detached) loss; `None` = use autograd instead."""
        return None

    @abstractmethod
    def pair_logits(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """The (differentiable) score of each `(users[k], items[k])` pair, `[n]`."""

    # ------------------------------------------------------------------ training
    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext, *,
            init_from: TorchRecommender | None = None, regularizers: Sequence[Regularizer] = (),
            epochs: int | None = None) -> FitResult:
        """Train on `train`, early-stopping on `valid`; warm-start from `init_from` if given."""
        from cure4rec.models.trainer import train_model

        self.setup(train, ctx, init_from)
        return train_model(self, train, valid, ctx, regularizers=tuple(regularizers),
                           epochs=epochs or self.config.epochs)

    def setup(self, train: Interactions, ctx: RunContext,
              init_from: TorchRecommender | None = None) -> None:
        """Size and initialise the parameters for `train` (or copy them from `init_from`)."""
        self.n_users, self.n_items = train.n_users, train.n_items
        with ctx.child("init").seeded_torch():
            self.net = self._build(self.n_users, self.n_items).to(ctx.torch_device)
        if init_from is not None:
            if type(init_from) is not type(self) or init_from.net is None:
                raise ConfigError(f"init_from must be a fitted {type(self).__name__}")
            if (init_from.n_users, init_from.n_items) != (self.n_users, self.n_items):
                raise ConfigError("init_from was fitted on another index space "
                                  f"({init_from.n_users}x{init_from.n_items})")
            self.net.load_state_dict(init_from.net.state_dict())
        self._set_train(train)
        self.invalidate()

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.module.parameters()).device

    @property
    def module(self) -> nn.Module:
        """The fitted module (raises if the model is not fitted)."""
        if self.net is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.net

    def parameters(self) -> list[nn.Parameter]:
        """The trainable parameters."""
        return list(self.module.parameters())

    # ------------------------------------------------------------------ losses and tables
    def pointwise_loss(self, users: torch.Tensor, items: torch.Tensor,
                       labels: torch.Tensor) -> torch.Tensor:
        """Per-interaction BCE-with-logits of the pair score against a 0/1 or fractional label.

        For pairwise-trained models (BPR, LightGCN) this is still BCE on the raw score.
        """
        logits = self.pair_logits(users.to(self.device), items.to(self.device))
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits), reduction="none")

    def user_table(self) -> nn.Parameter:
        """The trainable ego user embedding `[n_users, d]`."""
        return self.module.user  # type: ignore[return-value]

    def item_table(self) -> nn.Parameter:
        """The trainable ego item embedding `[n_items, d]`."""
        return self.module.item  # type: ignore[return-value]

    def user_embeddings(self) -> torch.Tensor:
        """The user representation used for scoring (detached)."""
        return self._cached("emb", self._embeddings)[0]

    def item_embeddings(self) -> torch.Tensor:
        """The item representation used for scoring (detached)."""
        return self._cached("emb", self._embeddings)[1]

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_table().detach(), self.item_table().detach()

    def _cached(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()` memoised until any parameter changes (tracked by tensor version counters)."""
        stamp = tuple((p.data_ptr(), p._version) for p in self.module.parameters())
        hit = self._cache.get(key)
        if hit is None or hit[0] != stamp:
            with torch.no_grad():
                hit = (stamp, make())
            self._cache[key] = hit
        return hit[1]

    @property
    def workspace(self) -> Workspace:
        """Scratch buffers of the hand-written training steps (created on first use)."""
        ws = self.__dict__.get("_ws")
        if ws is None:
            ws = self._ws = Workspace()
        return ws

    def __getstate__(self) -> dict[str, Any]:
        """Pickle / deepcopy without the scratch buffers."""
        state = dict(self.__dict__)
        state.pop("_ws", None)
        return state

    def invalidate(self) -> None:
        """Drop cached scoring representations (call after editing `.data` of a parameter)."""
        self._cache.clear()

    # ------------------------------------------------------------------ scoring
    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Scores `[len(users), n_items]` (float32, CPU)."""
        u = torch.as_tensor(np.asarray(users), dtype=torch.long, device=self.device)
        with torch.no_grad():
            return (self.user_embeddings()[u] @ self.item_embeddings().T).float().cpu()

    # ------------------------------------------------------------------ state
    def copy(self) -> TorchRecommender:
        """A deep copy of this (fitted) model."""
        new = copy.copy(self)
        new.net = copy.deepcopy(self.net)
        new._cache = {}
        new.__dict__.pop("_ws", None)  # scratch buffers are never shared
        new._copy_extra(self)
        return new

    def _copy_extra(self, other: TorchRecommender) -> None:
        """Hook: copy derived structures that `copy.copy` would share."""

    def state_dict(self) -> dict[str, Any]:
        """Plain tensors, ints and a JSON config string (`torch.load(weights_only=True)`-safe)."""
        state: dict[str, Any] = {"model": self.name, "n_users": self.n_users,
                                 "n_items": self.n_items,
                                 "config": json.dumps(config_to_dict(self.config))}
        state["params"] = {k: v.detach().cpu().clone() for k, v in
                           self.module.state_dict().items()}
        state["extra"] = self._extra_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (the config stored with it wins)."""
        self.config = config_from_dict(self.Config, json.loads(state["config"]),
                                       where=f"model {self.name}")
        self.n_users, self.n_items = int(state["n_users"]), int(state["n_items"])
        self.net = self._build(self.n_users, self.n_items)
        self.net.load_state_dict(state["params"])
        self._load_extra_state(state.get("extra", {}))
        self.invalidate()

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        """Hook for models whose state holds more than module tensors."""


class EmbeddingPair(nn.Module):
    """A user table and an item table, initialised N(0, 0.1²)."""

    def __init__(self, n_users: int, n_items: int, dim: int, std: float = 0.1) -> None:
        super().__init__()
        self.user = nn.Parameter(torch.randn(n_users, dim) * std)
        self.item = nn.Parameter(torch.randn(n_items, dim) * std)


class DotMF(TorchRecommender):
    """Shared body of the plain dot-product MF models (`bpr`, `mf-bce`, `wmf`): two tables,
    score p_u·q_i; subclasses only add their loss."""

    init_std: ClassVar[float] = 0.1

    def _build(self, n_users: int, n_items: int) -> nn.Module:
        return EmbeddingPair(n_users, n_items, self.config.dim, std=self.init_std)

    def pair_logits(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Dot product of the user and item rows."""
        return (rows(self.user_table(), users) * rows(self.item_table(), items)).sum(-1)

    def batch_rows(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The batch's user, positive and negative rows (`[B, d]`, `[B, d]`, `[B(, n), d]`)."""
        item = self.item_table()
        return (rows(self.user_table(), batch.users), rows(item, batch.pos_items),
                rows(item, batch.neg_items))


def pos_neg_scores(u: torch.Tensor, i: torch.Tensor,
                   j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dot-product scores of the positives `[B]` and negatives `[B]` or `[B, n]`."""
    neg = (u.unsqueeze(1) * j).sum(-1) if j.dim() == 3 else (u * j).sum(-1)
    return (u * i).sum(-1), neg
