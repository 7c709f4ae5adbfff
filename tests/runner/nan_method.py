"""A deliberately broken outside method for the failure tests: its unlearned model scores
NaN for one user past the first 64 (user 100), which the method contract must catch."""

from __future__ import annotations

from typing import Any

from cure4rec.context import RunContext
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import LearnedState, MethodCard, UnlearnResult
from cure4rec.methods.retrain import SingleModelMethod, _user_tables

BAD_USER = 100


class NanUnlearn(SingleModelMethod):
    """Copies the original and poisons one user's embedding row with NaN."""

    card = MethodCard(name="nan-unlearn", exact=False, reference="test fixture")

    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        model: Any = state.model.copy()  # type: ignore[attr-defined]
        for table in _user_tables(model):
            table.data[BAD_USER] = float("nan")
        return UnlearnResult(model, LearnedState(model, state.train), state.timing, {})
