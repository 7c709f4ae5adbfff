"""The Recommender protocol shared by native torch models and the RecBole adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.registry import Registry


@dataclass
class FitResult:
    """What training produced besides the weights: the curve and the chosen epoch."""

    epochs: int = 0
    best_epoch: int = 0
    seconds: float = 0.0
    valid_metric: str = ""
    best_valid: float | None = None
    curve: list[dict[str, float]] = field(default_factory=list)


class Recommender(ABC):
    """A model that scores every item for a batch of users, in the dataset's index space.

    Implementations keep their hyper-parameters in a frozen ``Config`` dataclass
    (``self.config``) and size their parameters from the train set given to ``fit``.
    """

    name: ClassVar[str] = ""
    n_users: int = 0
    n_items: int = 0

    @abstractmethod
    def fit(self, train: Interactions, valid: Interactions | None, ctx: RunContext) -> FitResult:
        """Train on `train`; select the epoch on `valid` (never on test) when given."""

    @abstractmethod
    def score(self, users: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Scores `[len(users), n_items]` (float32, CPU); higher = more recommended."""

    def user_embeddings(self) -> torch.Tensor | None:
        """The user representation the model scores with, where it has one."""
        return None

    def item_embeddings(self) -> torch.Tensor | None:
        """The item representation the model scores with, where it has one."""
        return None

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values only, loadable with `torch.load(weights_only=True)`."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def clone(self) -> Recommender:
        """A new, unfitted model with the same configuration."""
        return type(self)(self.config)  # type: ignore[call-arg, attr-defined]


MODELS: Registry[type[Recommender]] = Registry("model", "cure4rec.models")
MODELS.builtin_package = "cure4rec.models"


@dataclass(frozen=True)
class ModelSpec:
    """A model name plus its config dict: what a method needs to build fresh sub-models."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Recommender:
        """A new, unfitted recommender."""
        from cure4rec.config import config_from_dict

        cls = MODELS.get(self.name)
        cfg = config_from_dict(cls.Config, dict(self.config), where=f"model {self.name}")  # type: ignore[attr-defined]
        return cls(cfg)  # type: ignore[call-arg]
