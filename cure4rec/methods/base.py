"""The UnlearningMethod protocol: learn once, then unlearn requests (one batch or a stream).

Public verbs (`learn`, `unlearn`, `unlearn_stream`) wrap the protected hooks
(`_learn`, `_unlearn`) with the checks every method owes the benchmark: inputs are not
mutated, the request is a subset of the train set the state was learned on, seeds are
derived from the context, time is measured, and the served model's scores are finite.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

from cure4rec.config import config_from_dict, config_to_dict
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError, MethodContractError
from cure4rec.forget.request import ForgetRequest, RequestKind
from cure4rec.metrics.efficiency import Timing, latency_summary, measure
from cure4rec.models.base import ModelSpec, Recommender
from cure4rec.registry import Registry


class RegularizerFactory(Protocol):
    """Builds a training regularizer `(model, batch) -> Tensor` for a given train set."""

    def __call__(self, train: Interactions, ctx: RunContext) -> Any: ...


#: what `exact=True` means for every shipped exact method
EXACT_WRT_RELEARN = "A(D − D_f): the same method, seeds and config learned from scratch on the retained data"


@dataclass(frozen=True)
class MethodCard:
    """What a method is: exact or approximate, what it needs, what it supports, where from.

    `exact` means: the served model equals, score for score, the method learned *from
    scratch on D − D_f* (`exact_wrt` says it in words); the conformance kit checks exactly
    that. A method that is exact only relative to something computed on D (e.g. a partition
    from embeddings trained with the forgotten users) is **not** exact: `exact=False`, and
    `exact_wrt` names what it is exact relative to. `min_effect` is the conformance kit's
    bar for an approximate method: the share of the forgotten pairs' score margin (their mean
    score minus their users' mean score, on the original model) that unlearning must remove.
    """

    name: str
    exact: bool
    reference: str
    request_kinds: tuple[RequestKind, ...] = ("users", "interactions", "items")
    models: tuple[str, ...] = ("*",)
    needs: tuple[str, ...] = ("train",)
    notes: str = ""
    exact_wrt: str = ""
    min_effect: float = 0.0

    def __post_init__(self) -> None:
        if self.exact and not self.exact_wrt:
            object.__setattr__(self, "exact_wrt", EXACT_WRT_RELEARN)
        if not 0.0 <= self.min_effect <= 1.0:
            raise ValueError(f"card {self.name}: min_effect must lie in [0, 1]")


@dataclass
class LearnedState:
    """The original model plus whatever the method keeps to unlearn later."""

    model: Recommender
    train: Interactions
    extra: dict[str, Any] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)
    valid: Interactions | None = None


@dataclass
class UnlearnResult:
    """The unlearned model, the state to continue from (streams), and the measured cost."""

    model: Recommender
    state: LearnedState
    timing: Timing
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class StreamResult:
    """A sequence of requests applied one after another."""

    model: Recommender
    state: LearnedState
    timings: list[Timing]

    def summary(self) -> dict[str, float]:
        return latency_summary([t.wall_s for t in self.timings])


def _fingerprint(x: Interactions) -> str:
    h = hashlib.sha256()
    for a in (x.user, x.item, x.rating, x.timestamp):
        if a is not None:
            h.update(a.tobytes())
    return h.hexdigest()


class UnlearningMethod(ABC):
    """Base class of every unlearning method.

    Subclasses set ``card`` and a frozen ``Config`` dataclass, and implement ``_learn`` and
    ``_unlearn``. They register with ``@METHODS.register("name")``.
    """

    card: ClassVar[MethodCard]

    @dataclass(frozen=True)
    class Config:
        pass

    def __init__(self, model: ModelSpec | str, config: dict[str, Any] | Any = None,
                 regularizers: Sequence[RegularizerFactory] = ()) -> None:
        self.model_spec = ModelSpec(model) if isinstance(model, str) else model
        self.regularizer_factories = tuple(regularizers)
        self.config = config_from_dict(type(self).Config, config,
                                       where=f"method {self.card.name}")
        allowed = self.card.models
        if "*" not in allowed and self.model_spec.name not in allowed:
            raise ConfigError(f"method {self.card.name!r} does not support model "
                              f"{self.model_spec.name!r}; supported: {', '.join(allowed)}")

    def describe(self) -> dict[str, Any]:
        """Name and config as plain JSON (for run records)."""
        out = {"name": self.card.name, "config": config_to_dict(self.config)}
        if self.regularizer_factories:
            out["regularizers"] = [getattr(f, "name", repr(f)) for f in self.regularizer_factories]
        return out

    def training_regularizers(self, train: Interactions, ctx: RunContext) -> tuple[Any, ...]:
        """Extra loss terms for every model this method trains on `train` (e.g. UCDS fairness).

        Training-based methods pass the result as ``regularizers=`` to ``TorchRecommender.fit``
        each time they train a (sub-)model, built from the data that model is trained on.
        """
        return tuple(f(train, ctx) for f in self.regularizer_factories)

    # ------------------------------------------------------------------ public verbs
    def learn(self, train: Interactions, ctx: RunContext,
              valid: Interactions | None = None) -> LearnedState:
        """Train the original model (and the method's state) on the full train set."""
        before = _fingerprint(train)
        with ctx.torch_threads(), measure() as t:
            state = self._learn(train, valid, ctx.child(f"{self.card.name}-learn"))
        if _fingerprint(train) != before:
            raise MethodContractError(f"{self.card.name}: learn() mutated the train set")
        state.timing = t
        state.valid = valid
        _check_finite(state.model, self.card.name, "learn")
        return state

    def unlearn(self, state: LearnedState, request: ForgetRequest,
                ctx: RunContext) -> UnlearnResult:
        """Forget `request` from the learned state; returns the model to serve now."""
        if request.kind not in self.card.request_kinds:
            raise ConfigError(f"method {self.card.name!r} handles requests of kind "
                              f"{', '.join(self.card.request_kinds)}, not {request.kind!r}")
        request.check_against(state.train)
        # Whatever is retrained from here on early-stops without the forgotten users'
        # validation pairs: the state learned before the request may hold them.
        state = replace(state, valid=request.retained_valid(state.valid))
        before = (_fingerprint(state.train), _fingerprint(request.forget))
        with ctx.torch_threads(), measure() as t:
            result = self._unlearn(state, request, ctx.child(f"{self.card.name}-unlearn"))
        if (_fingerprint(state.train), _fingerprint(request.forget)) != before:
            raise MethodContractError(f"{self.card.name}: unlearn() mutated its inputs")
        result.timing = _with_shard_costs(t, result.info)
        _check_finite(result.model, self.card.name, "unlearn")
        return result

    def unlearn_stream(self, state: LearnedState, requests: Sequence[ForgetRequest],
                       ctx: RunContext) -> StreamResult:
        """Apply `requests` one after another, each against the previous state."""
        timings: list[Timing] = []
        model = state.model
        for n, req in enumerate(requests):
            res = self.unlearn(state, req, ctx.child(f"request{n}"))
            state, model = res.state, res.model
            timings.append(res.timing)
        return StreamResult(model, state, timings)

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _learn(self, train: Interactions, valid: Interactions | None,
               ctx: RunContext) -> LearnedState:
        """Build the state. `ctx` is already specific to this method's learn phase."""

    @abstractmethod
    def _unlearn(self, state: LearnedState, request: ForgetRequest,
                 ctx: RunContext) -> UnlearnResult:
        """Return the unlearned model and the new state (train = state.train minus forget).

        The returned `UnlearnResult.timing` is overwritten by the caller's measurement.
        """


def _with_shard_costs(t: Timing, info: dict[str, Any]) -> Timing:
    """`t` plus the parallel CPU cost and the share of sub-models touched, from `info`.

    Sharded methods list the CPU seconds of every sub-model they retrained
    (`info["shard_cpu_s"]`); K workers would wait for everything else plus the slowest one.
    """
    shards = [float(x) for x in info.get("shard_cpu_s", ())]
    if shards:
        t.cpu_parallel_s = max(0.0, t.cpu_s - sum(shards)) + max(shards)
    if "share_touched" in info:
        t.share_touched = float(info["share_touched"])
    return t


def _check_finite(model: Recommender, method: str, phase: str, batch_users: int = 512) -> None:
    """Raise MethodContractError if any user's scores are non-finite (all users, in batches
    of `batch_users`, so a NaN past the first batch is caught here, not inside an attack)."""
    n = int(model.n_users)
    with torch.no_grad():
        for start in range(0, n, batch_users):
            users = np.arange(start, min(start + batch_users, n))
            s = model.score(users)
            if not torch.isfinite(s).all():
                bad = users[~torch.isfinite(s).all(1).cpu().numpy()]
                raise MethodContractError(
                    f"{method}: {phase}() produced non-finite scores for {len(bad)} user(s), "
                    f"first user {int(bad[0])}")


METHODS: Registry[type[UnlearningMethod]] = Registry("method", "cure4rec.methods")
METHODS.builtin_package = "cure4rec.methods"


def make_method(name: str, model: ModelSpec | str, config: dict[str, Any] | None = None,
                regularizers: Sequence[RegularizerFactory] = ()) -> UnlearningMethod:
    """Instantiate a registered (or `module:Class`) method for `model`."""
    cls = METHODS.get(name)
    return cls(model, config, regularizers)
