"""Fine-tune: continue training the original model on the retained data for a few epochs."""

from __future__ import annotations

from dataclasses import dataclass

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, MethodCard, UnlearningMethod, UnlearnResult
from cure4rec.methods.retrain import NATIVE_MODELS, fit_fresh


@METHODS.register("finetune")
class FineTune(UnlearningMethod):
    """Warm-start training on D_r from θ_o (AltEraser's first-order baseline): not exact."""

    card = MethodCard(
        name="finetune", exact=False,
        reference="warm-start fine-tuning on retained data (e.g. AltEraser, arXiv 2208.06875)",
        models=NATIVE_MODELS,
        needs=("train", "original model"),
        notes="The forgotten data's influence fades only as far as E epochs move the weights.")

    @dataclass(frozen=True)
    class Config:
        epochs: int = 5

        def __post_init__(self) -> None:
            if self.epochs < 1:
                raise ConfigError(f"finetune: epochs must be >= 1, got {self.epochs}")

    def _learn(self, train: Interactions, valid: Interactions | None,
               ctx: RunContext) -> LearnedState:
        return LearnedState(fit_fresh(self, train, valid, ctx.child("model")), train)

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        retain = request.retained(state.train)
        model = state.model.copy()  # type: ignore[attr-defined]
        model.fit(retain, state.valid, ctx.child("finetune"), init_from=state.model,
                  regularizers=self.training_regularizers(retain, ctx), epochs=self.config.epochs)
        return UnlearnResult(model, LearnedState(model, retain, valid=state.valid), state.timing)
