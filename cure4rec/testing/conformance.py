"""Conformance kit for unlearning methods: subclass `MethodConformance`, set a few attributes.

```python
from cure4rec.testing import MethodConformance

class TestMine(MethodConformance):
    method = "my_pkg.mine:MyMethod"     # a registered name, a module:Class path, or a class
    model = ModelSpec("bpr", {"epochs": 5, "dim": 16})   # or just "bpr"
    config = {"epochs": 2}
```

The checks run on a toy clustered dataset built here (60 users, 40 items, 10% of users
forgotten): inputs not mutated, same seed → same scores, finite scores, and request streams
work. Forgetting:

- an exact method (``card.exact``) must equal, to 1e-6, **the method learned from scratch on
  D − D_f** with the same seeds and config (``method.learn(retain)``): never a reference the
  method builds itself, so anything computed on D that survives unlearning (e.g. a
  partition learned with the forgotten users) fails the check;
- an approximate method must remove at least ``card.min_effect`` of the forgotten pairs'
  score margin (their mean score minus their users' mean score on the original model), and
  strictly lower it when ``min_effect`` is 0.

`run_checks` runs the same checks outside pytest (`cure4rec check-method`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.base import METHODS, LearnedState, UnlearningMethod, UnlearnResult
from cure4rec.methods.stream import split_request
from cure4rec.models.base import ModelSpec
from cure4rec.testing.toy import toy_interactions

TOLERANCE = 1e-6


@dataclass
class CheckResult:
    """One named check: passed or not, and why."""

    name: str
    ok: bool
    message: str = ""


class _Run:
    """One learn + unlearn on the toy data, shared by the checks."""

    def __init__(self, method: Any, model: str | ModelSpec,
                 config: dict[str, Any] | None) -> None:
        cls = METHODS.get(method) if isinstance(method, str) else method
        self.make: Callable[[], UnlearningMethod] = lambda: cls(model, copy.deepcopy(config))
        self.method = self.make()
        self.train = toy_interactions()
        users = np.arange(0, 60, 10)
        self.request = ForgetRequest("users", self.train.subset(self.train.users_mask(users)),
                                     users)
        self.ctx = RunContext(seed=7)
        self.snapshot = [a.copy() for a in (self.train.user, self.train.item,
                                            self.request.forget.user, self.request.forget.item)]
        self.state: LearnedState = self.method.learn(self.train, self.ctx)
        self.original = self.state.model.score(np.arange(self.train.n_users)).clone()
        self.result: UnlearnResult = self.method.unlearn(self.state, self.request, self.ctx)

    def scores(self, model: Any) -> torch.Tensor:
        return model.score(np.arange(self.train.n_users))


def check_not_mutated(run: _Run) -> CheckResult:
    now = (run.train.user, run.train.item, run.request.forget.user, run.request.forget.item)
    ok = all(np.array_equal(a, b) for a, b in zip(run.snapshot, now))
    same = torch.equal(run.original, run.scores(run.state.model))
    return CheckResult("inputs-not-mutated", ok and same,
                       "" if ok and same else "train, request or learned model changed")


def check_deterministic(run: _Run) -> CheckResult:
    m = run.make()
    again = m.unlearn(m.learn(run.train, run.ctx), run.request, run.ctx)
    diff = float((run.scores(again.model) - run.scores(run.result.model)).abs().max())
    return CheckResult("deterministic", diff == 0.0, f"max score difference {diff:g}")


def check_finite(run: _Run) -> CheckResult:
    ok = bool(torch.isfinite(run.scores(run.result.model)).all())
    return CheckResult("finite-scores", ok, "" if ok else "non-finite scores after unlearn")


def forget_margin(scores: torch.Tensor, forget: Any) -> float:
    """Mean score of the forgotten pairs minus the mean score of their users' rows."""
    u, i = torch.tensor(forget.user), torch.tensor(forget.item)
    return float(scores[u, i].mean() - scores[u].mean())


def check_forgetting(run: _Run) -> CheckResult:
    """Exact: equal to the method learned from scratch on D − D_f. Approximate: at least
    `card.min_effect` of the forgotten pairs' score margin removed."""
    card = run.method.card
    if card.exact:
        retain = run.request.retained(run.train)
        ref = run.make().learn(retain, run.ctx).model  # A(D − D_f), nothing reused from D
        diff = float((run.scores(ref) - run.scores(run.result.model)).abs().max())
        return CheckResult("equals-retraining", diff <= TOLERANCE,
                           f"max |Δscore| vs the method learned from scratch on D − D_f "
                           f"{diff:.3g} (tolerance {TOLERANCE:g})")
    before = forget_margin(run.original, run.request.forget)
    after = forget_margin(run.scores(run.result.model), run.request.forget)
    removed = (before - after) / abs(before) if before != 0 else float("nan")
    ok = after < before and (card.min_effect == 0 or removed >= card.min_effect)
    return CheckResult("forget-influence-reduced", ok,
                       f"forgotten-pair score margin {before:.4f} -> {after:.4f} "
                       f"({removed:.1%} removed; card min_effect {card.min_effect:.0%})")


def check_stream(run: _Run) -> CheckResult:
    parts = split_request(run.request, 3, run.ctx.child("stream"))
    m = run.make()
    out = m.unlearn_stream(m.learn(run.train, run.ctx), parts, run.ctx)
    n_left = len(run.train) - len(run.request.forget)
    ok = (len(out.timings) == 3 and len(out.state.train) == n_left
          and bool(torch.isfinite(run.scores(out.model)).all()))
    return CheckResult("request-stream", ok, f"{len(out.state.train)} rows left, want {n_left}")


CHECKS: tuple[Callable[[_Run], CheckResult], ...] = (
    check_not_mutated, check_deterministic, check_finite, check_forgetting, check_stream)


def run_checks(method: Any, model: str | ModelSpec = "bpr",
               config: dict[str, Any] | None = None) -> list[CheckResult]:
    """Run every check; an exception inside a check is reported as its failure."""
    run = _Run(method, model, config)
    out = []
    for check in CHECKS:
        try:
            out.append(check(run))
        except Exception as exc:  # noqa: BLE001 - report, do not crash the kit
            out.append(CheckResult(check.__name__.removeprefix("check_").replace("_", "-"),
                                   False, f"{type(exc).__name__}: {exc}"))
    return out


class MethodConformance:
    """Pytest base class: subclass it, set `method`, `model` and `config`."""

    method: ClassVar[Any] = None
    model: ClassVar[str | ModelSpec] = "bpr"
    config: ClassVar[dict[str, Any] | None] = None
    exact: ClassVar[bool | None] = None
    #: set to a reason to mark the forgetting check as an expected failure (known limitation)
    xfail_forgetting: ClassVar[str] = ""
    _runs: ClassVar[dict[type, _Run]] = {}

    def _run(self) -> _Run:
        cls = type(self)
        if cls not in MethodConformance._runs:
            MethodConformance._runs[cls] = _Run(cls.method, cls.model, cls.config)
        return MethodConformance._runs[cls]

    def _assert(self, check: Callable[[_Run], CheckResult]) -> None:
        res = check(self._run())
        assert res.ok, f"{res.name}: {res.message}"

    def test_card_declares_exactness(self) -> None:
        card = self._run().method.card
        assert self.exact is None or card.exact == self.exact, f"card.exact is {card.exact}"
        assert card.reference and card.models and card.needs
        assert card.exact_wrt if card.exact else card.min_effect >= 0, "card says no exactness"

    def test_inputs_not_mutated(self) -> None:
        self._assert(check_not_mutated)

    def test_deterministic(self) -> None:
        self._assert(check_deterministic)

    def test_finite_scores(self) -> None:
        self._assert(check_finite)

    def test_forgetting(self) -> None:
        if self.xfail_forgetting:
            import pytest

            pytest.xfail(self.xfail_forgetting)
        self._assert(check_forgetting)

    def test_stream(self) -> None:
        self._assert(check_stream)


__all__ = ["CHECKS", "CheckResult", "MethodConformance", "forget_margin", "run_checks"]
