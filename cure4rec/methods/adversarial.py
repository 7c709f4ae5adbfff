"""In-training adversarial attribute unlearning (gradient reversal; Ganhör et al., SIGIR'22).

An MLP attribute classifier reads the batch users' embedding rows through a gradient-reversal
layer; its cross-entropy is added to the recommender's batch loss, so the recommender learns
embeddings the classifier cannot use. The regulariser owns the classifier and its optimiser:
each call first takes one classifier step on the *detached* rows (the classifier learns to
predict), then returns `weight · CE(clf(GRL(rows)))` for the trainer's backward (the embeddings
learn to hide). The trainer's backward also fills the classifier's gradients; they are cleared
before the classifier's next step, so the classifier is only trained by its own step.
Only the request's users' labels are used (all labelled users when the request lists none);
users with an unknown attribute value are ignored. `target="served"` (default) puts the
classifier on the representation the model scores with (LightGCN: the propagated rows; one
more propagation per batch), `target="ego"` on the trainable tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.fairness.embeddings import attribute_codes, representation_rows
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, MethodCard, UnlearnResult
from cure4rec.methods.retrain import SingleModelMethod


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; gradient multiplied by −`scale` backward."""
    return _Reverse.apply(x, scale)  # type: ignore[no-any-return]


class AdversarialRegularizer:
    """`(model, batch) -> weight · CE` of an attribute classifier behind gradient reversal."""

    def __init__(self, labels: np.ndarray, n_classes: int, hidden: int, lr: float,
                 scale: float, weight: float, ctx: RunContext, target: str = "served"
                 ) -> None:
        self.labels = torch.from_numpy(labels)
        self.n_classes, self.hidden, self.lr = n_classes, hidden, lr
        self.scale, self.weight, self.ctx, self.target = scale, weight, ctx, target
        self.clf: nn.Module | None = None

    def _classifier(self, dim: int, device: torch.device) -> nn.Module:
        """The classifier, built (seeded) on first use, once the embedding width is known."""
        if self.clf is None:
            with self.ctx.seeded_torch():
                self.clf = nn.Sequential(nn.Linear(dim, self.hidden), nn.ReLU(),
                                         nn.Linear(self.hidden, self.n_classes)).to(device)
            self.opt = torch.optim.Adam(self.clf.parameters(), lr=self.lr)
        return self.clf

    def __call__(self, model: Any, batch: Any) -> torch.Tensor:
        users = torch.unique(batch.users.detach().cpu().long())
        y = self.labels[users]
        users, y = users[y >= 0], y[y >= 0]
        rows = representation_rows(model, self.target, users)
        if len(users) == 0:
            return rows.sum() * 0.0
        clf = self._classifier(rows.shape[1], rows.device)
        self.opt.zero_grad(set_to_none=True)
        F.cross_entropy(clf(rows.detach()), y.to(rows.device)).backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        logits = clf(grad_reverse(rows, self.scale))
        return self.weight * F.cross_entropy(logits, y.to(rows.device))


@dataclass(frozen=True)
class AdversarialFactory:
    """A `RegularizerFactory` building the adversary for `attribute` on the given train set."""

    attribute: str
    hidden: int = 16
    lr: float = 1e-3
    scale: float = 0.5
    weight: float = 1.0
    target: str = "served"
    #: the users whose labels the adversary may use (None: every labelled user)
    users: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return (f"adversary({self.attribute}, scale={self.scale}, weight={self.weight}, "
                f"target={self.target})")

    def __call__(self, train: Interactions, ctx: RunContext) -> AdversarialRegularizer:
        codes, classes = attribute_codes(train, self.attribute)
        if self.users is not None and len(self.users):
            seen = np.zeros(len(codes), dtype=bool)
            seen[np.asarray(self.users, dtype=np.int64)] = True
            codes = np.where(seen, codes, -1)
        return AdversarialRegularizer(codes, len(classes), self.hidden, self.lr, self.scale,
                                      self.weight, ctx.child("adversary"), self.target)


@METHODS.register("attribute-adversarial")
class AttributeAdversarial(SingleModelMethod):
    """Learn normally; an attribute request retrains from scratch with the adversary."""

    card = MethodCard(
        name="attribute-adversarial", exact=False, request_kinds=("attribute",),
        reference="Ganhör et al., Unlearning Protected User Attributes in Recommendations "
                  "with Adversarial Training, SIGIR 2022",
        needs=("train", "user_attributes"),
        notes="In-training baseline: gradient reversal (scale 0.5) + MLP head (16).")

    @dataclass(frozen=True)
    class Config:
        hidden: int = 16
        lr: float = 1e-3
        scale: float = 0.5
        weight: float = 1.0
        target: str = "served"

        def __post_init__(self) -> None:
            if self.hidden < 1 or self.lr <= 0 or self.scale < 0 or self.weight < 0 \
                    or self.target not in ("served", "ego"):
                raise ConfigError("attribute-adversarial: need hidden >= 1, lr > 0, "
                                  "scale >= 0, weight >= 0, target in served/ego")

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        if not request.attribute:
            raise ConfigError("attribute-adversarial needs an attribute request")
        c = self.config
        factory = AdversarialFactory(request.attribute, c.hidden, c.lr, c.scale, c.weight,
                                     c.target, np.asarray(request.users))
        model = self.model_spec.build()
        regs = (*self.training_regularizers(state.train, ctx), factory(state.train, ctx))
        model.fit(state.train, state.valid, ctx.child("model"), regularizers=regs)  # type: ignore[call-arg]
        return UnlearnResult(model, LearnedState(model, state.train, dict(state.extra),
                                                 valid=state.valid), state.timing,
                             {"attribute": request.attribute})
