"""A third-party unlearning method in one file: retrain only the last few epochs.

`LastEpochs` keeps a checkpoint of the model after all but its last `k` epochs; to unlearn
it resumes from that checkpoint on the retained data. It is approximate (the checkpoint saw
the forgotten data). Check it with:

    cure4rec check-method examples/third_party_method.py:LastEpochs --model bpr
"""

from __future__ import annotations

from dataclasses import dataclass

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import LearnedState, MethodCard, UnlearningMethod, UnlearnResult


class LastEpochs(UnlearningMethod):
    """Resume from a checkpoint taken `k` epochs before the end, on the retained data."""

    card = MethodCard(name="last-epochs", exact=False, reference="example (docs/your_method.md)",
                      needs=("train", "checkpoint"))

    @dataclass(frozen=True)
    class Config:
        epochs: int = 20
        k: int = 5

    def _learn(self, train: Interactions, valid: Interactions | None,
               ctx: RunContext) -> LearnedState:
        head = self.model_spec.build()
        head.fit(train, valid, ctx.child("head"), epochs=self.config.epochs - self.config.k)
        model = head.copy()
        model.fit(train, valid, ctx.child("tail"), init_from=head, epochs=self.config.k)
        return LearnedState(model, train, {"checkpoint": head})

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        retain = request.retained(state.train)
        head = state.extra["checkpoint"]
        model = head.copy()
        model.fit(retain, state.valid, ctx.child("tail"), init_from=head, epochs=self.config.k)
        return UnlearnResult(model, LearnedState(model, retain, dict(state.extra)), state.timing)
