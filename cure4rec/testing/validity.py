"""Dose-response validity check of the calibrated completeness score.

A completeness score is only worth publishing if it measures forgetting. This check builds
models whose amount of forgetting is known by construction and reads the score on each:

- *dose x* ∈ [0, 1): a model trained from scratch on D − x·D_f, where x·D_f is a seeded,
  nested share x of the request's units (whole forgotten users for a user request, pairs
  otherwise); x = 0 is the original (a no-op unlearner);
- *x = 1*: exact retrains with held-out seed paths (``heldout/<j>``), none of them a reference;
- *over-forgetting*: a held-out retrain whose deleted items are demoted by one standard
  deviation of the user's scores (what a filter-style unlearner that over-suppresses does).

It must read monotone (non-increasing) in x, ``indistinguishable`` for ≥ 95% of the
held-out retrains, ``remembers`` for x = 0 and ``over-forgets`` for the over-forgetting
model. `benchmarks/completeness_validity.py` prints the table; the tests run a small grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.methods.retrain import reference_context
from cure4rec.metrics.calibrated import (
    CalibratedScore,
    ReferenceStats,
    candidate_history,
    headline_unit,
)
from cure4rec.models.base import ModelSpec, Recommender

DOSES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)


class Demoted:
    """A model whose forgotten pairs' scores are lowered by one per-user score sd."""

    def __init__(self, base: Recommender, forget: Interactions) -> None:
        self.base = base
        self.forget = forget.csr()

    def score(self, users: np.ndarray) -> torch.Tensor:
        s = self.base.score(users).detach().to("cpu", torch.float64).clone()
        sub = self.forget[np.asarray(users)]
        rows = np.repeat(np.arange(len(users)), np.diff(sub.indptr))
        sd = s.std(1)
        sd = torch.where(sd > 0, sd, torch.ones_like(sd))  # an all-equal row: any step sinks
        r, c = torch.from_numpy(rows), torch.from_numpy(sub.indices.astype(np.int64))
        s[r, c] -= sd[r]
        return s


def dose_train_set(fs: Any, x: float, ctx: RunContext) -> Interactions:
    """D − x·D_f: the retained data plus the forgotten units outside a nested share x."""
    forget: Interactions = fs.request.forget
    if x <= 0:
        return fs.train
    if headline_unit(fs.request.kind) == "users":
        units = np.unique(forget.user)
        order = ctx.child("dose-order").rng().permutation(units)
        removed = order[: int(round(x * len(units)))]
        keep = forget.subset(~np.isin(forget.user, removed))
    else:
        order = ctx.child("dose-order").rng().permutation(len(forget))
        mask = np.ones(len(forget), dtype=bool)
        mask[order[: int(round(x * len(forget)))]] = False
        keep = forget.subset(mask)
    return fs.retain.concat(keep) if len(keep) else fs.retain


@dataclass(frozen=True)
class DoseRow:
    """One model of the check and its calibrated score."""

    kind: str  # "dose", "heldout" or "over-forget"
    x: float
    score: CalibratedScore


def _fit(spec: ModelSpec, data: Interactions, valid: Interactions, ctx: RunContext
         ) -> Recommender:
    m = spec.build()
    with ctx.torch_threads():
        m.fit(data, valid, ctx)
    return m


def dose_response(fs: Any, spec: ModelSpec, ctx: RunContext, n_references: int = 8,
                  n_heldout: int = 5, doses: Sequence[float] = DOSES) -> list[DoseRow]:
    """Score the dose models, held-out retrains and the over-forgetting model of `fs`."""
    refs = [_fit(spec, fs.retain, fs.valid, reference_context(ctx, "retrain-reference", j))
            for j in range(n_references)]
    hist = candidate_history(fs)
    forget = fs.request.forget
    stats = ReferenceStats.build(refs, forget, hist, headline_unit(fs.request.kind))
    rows = []
    for x in doses:
        model = _fit(spec, dose_train_set(fs, x, ctx), fs.valid,
                     ctx.child("original") if x == 0 else ctx.child(f"dose/{x:g}"))
        rows.append(DoseRow("dose", float(x), stats.score(model, forget, hist)))
    heldout = [_fit(spec, fs.retain, fs.valid, reference_context(ctx, "heldout", j))
               for j in range(n_heldout)]
    rows += [DoseRow("heldout", 1.0, stats.score(m, forget, hist)) for m in heldout]
    rows.append(DoseRow("over-forget", 1.0, stats.score(Demoted(heldout[0], forget), forget,
                                                        hist)))
    return rows


def check(rows: Sequence[DoseRow]) -> dict[str, bool]:
    """The four validity properties of one dose-response run."""
    doses = [r.score.score for r in rows if r.kind == "dose"]
    held = [r.score for r in rows if r.kind == "heldout"]
    curve = doses + [float(np.mean([h.score for h in held]))]
    over = [r.score for r in rows if r.kind == "over-forget"]
    return {
        "monotone": all(a >= b for a, b in zip(curve, curve[1:])),
        "heldout_indistinguishable": all(h.verdict == "indistinguishable" for h in held),
        "noop_remembers": rows[0].x == 0 and rows[0].score.verdict == "remembers",
        "over_forget_flagged": all(o.verdict == "over-forgets" for o in over),
    }
