"""A tiny cached unlearning cell (synthetic data, BPR) shared by the completeness tests."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.models.base import ModelSpec, Recommender

SPEC = ModelSpec("bpr", {"dim": 16, "epochs": 25, "lr": 0.01, "batch_size": 1024,
                         "patience": 100})


@dataclass
class Cell:
    """A forget split, the original model and six retrains (independent seed paths).

    `refs` (the first five) are the references; `heldout` (the sixth) plays an exact retrain
    the evaluator has never seen.
    """

    fs: Any
    original: Recommender
    retrains: list[Recommender]
    ctx: RunContext

    @property
    def refs(self) -> list[Recommender]:
        return self.retrains[:5]

    @property
    def heldout(self) -> Recommender:
        return self.retrains[5]


def fit(data: Any, ctx: RunContext) -> Recommender:
    """A BPR model of SPEC fitted on `data` (no validation: fixed epochs)."""
    m = SPEC.build()
    m.fit(data, None, ctx)
    return m


@lru_cache(maxsize=2)
def cell(strategy: str = "random", fraction: float = 0.1) -> Cell:
    """The cached cell of `strategy` (≈ 10 s on one CPU core)."""
    ds = load_dataset("synthetic", n_users=200, n_items=150, n_interactions=6000)
    fs = make_forget_split(split_dataset(ds, seed=0), strategy, fraction, seed=0)
    ctx = RunContext(seed=0, threads=1)
    return Cell(fs, fit(fs.train, ctx.child("original")),
                [fit(fs.retain, ctx.child(f"retrain{s}")) for s in range(6)], ctx)
