"""Fine-tune: continue training the original model on the retained data for a few epochs.

Whole-user deletion: a deleted user has no retained rows, so fine-tuning never sends a
gradient to their embedding and, left alone, they would keep being served from the original
model. With `reset_forgotten_users` (default) their rows are first re-initialised exactly as
a never-trained user's would be (a fresh model of the same spec set up under the unlearn
context, so same init distribution, seeded), which is also where retraining leaves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, MethodCard, UnlearnResult
from cure4rec.methods.retrain import NATIVE_MODELS, SingleModelMethod, reset_user_rows


@METHODS.register("finetune")
class FineTune(SingleModelMethod):
    """Warm-start training on D_r from θ_o (AltEraser's first-order baseline): not exact."""

    card = MethodCard(
        name="finetune", exact=False, min_effect=0.5,
        reference="warm-start fine-tuning on retained data (e.g. AltEraser, arXiv 2208.06875)",
        models=NATIVE_MODELS,
        needs=("train", "original model"),
        notes="The forgotten data's influence fades only as far as E epochs move the weights; "
              "deleted users' rows are re-initialised first (reset_forgotten_users).")

    @dataclass(frozen=True)
    class Config:
        epochs: int = 5
        reset_forgotten_users: bool = True

        def __post_init__(self) -> None:
            if self.epochs < 1:
                raise ConfigError(f"finetune: epochs must be >= 1, got {self.epochs}")

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        retain = request.retained(state.train)
        start: Any = state.model.copy()  # type: ignore[attr-defined]
        reset = self.config.reset_forgotten_users and request.kind == "users"
        if reset:
            reset_user_rows(start, self.model_spec, request.users, retain, ctx.child("reinit"))
        model = start.copy()
        model.fit(retain, state.valid, ctx.child("finetune"), init_from=start,
                  regularizers=self.training_regularizers(retain, ctx), epochs=self.config.epochs)
        return UnlearnResult(model, LearnedState(model, retain, valid=state.valid), state.timing,
                             {"reset_users": len(request.users) if reset else 0})
