"""Full-catalogue rows scored per model by `evaluate_cell`, with and without `PassMemo`.

    python benchmarks/eval_passes.py [--users 3000] [--items 2000] [--interactions 60000]

Two consecutive method cells of one group (shared evaluator cache, as the runner's): cell 1
evaluates a held-out retrain, cell 2 the original (a no-op). Every model's `score` is
wrapped to count the user rows it scores (each row: one pass over the whole catalogue);
"without" replaces the memo with one that stores nothing (the evaluator before 2026-12-04,
except that the attacks' percentiles and z-scores already come from one pass). Rows are a
property of the code, not of the machine: the figures do not depend on load. Prints the
rows per model role and cell, the CPU seconds, and whether the metrics agree.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.retrain import reference_context
from cure4rec.metrics import evaluator
from cure4rec.metrics.memo import PassMemo
from cure4rec.models.base import ModelSpec
from cure4rec.testing.validity import _fit


class NoMemo(PassMemo):
    """Recomputes every pass (stores nothing)."""

    def get(self, tag: Any, model: object, compute: Any) -> Any:
        return compute()


def _count(model: Any, counts: dict[str, int], role: str) -> None:
    score = model.score

    def counted(users: np.ndarray) -> Any:
        counts[role] = counts.get(role, 0) + len(users)
        return score(users)

    model.score = counted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--interactions", type=int, default=60000)
    ap.add_argument("--references", type=int, default=8)
    a = ap.parse_args()
    ds = load_dataset("synthetic", n_users=a.users, n_items=a.items,
                      n_interactions=a.interactions, seed=0)
    fs = make_forget_split(split_dataset(ds, seed=0), "random", 0.05, seed=0)
    ctx = RunContext(seed=0, threads=1)
    spec = ModelSpec("wmf", {"dim": 32, "epochs": 6, "eval_every": 6, "patience": 1,
                             "threads": 1})
    results: dict[str, list[tuple[dict[str, int], float, str]]] = {}
    for mode, memo in (("without memo", NoMemo), ("with memo", PassMemo)):
        original = _fit(spec, fs.train, fs.valid, ctx)
        fits = [_fit(spec, fs.retain, fs.valid, reference_context(ctx, "retrain-reference", j))
                for j in range(a.references + 1)]
        heldout, refs = fits[0], fits[1:]
        counts: dict[str, int] = {}
        _count(original, counts, "original")
        _count(heldout, counts, "held-out retrain")
        for r in refs:
            _count(r, counts, "references")
        evaluator.PassMemo = memo  # type: ignore[misc]
        cache: dict = {}
        rows = []
        for unlearned in (heldout, original):
            counts.clear()
            t = time.process_time()
            res = evaluator.evaluate_cell(fs, original, unlearned, refs, ctx, cache=cache)
            comp = json.dumps({k: v for k, v in res.metrics.items()
                               if not k.startswith("efficiency.")}, sort_keys=True)
            rows.append((dict(counts), time.process_time() - t, comp))
        results[mode] = rows
    evaluator.PassMemo = PassMemo  # type: ignore[misc]
    n = len(fs.request.users)
    print(f"synthetic {a.users:,} x {a.items:,}, {a.interactions:,} interactions; "
          f"{n} forgotten users; {a.references} references")
    print("| mode | cell | original rows | references rows | held-out rows | total | CPU s |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for mode, rows in results.items():
        for i, (c, cpu, _) in enumerate(rows):
            print(f"| {mode} | {i + 1} | {c.get('original', 0):,} | {c.get('references', 0):,} "
                  f"| {c.get('held-out retrain', 0):,} | {sum(c.values()):,} | {cpu:.1f} |")
    same = all(x[2] == y[2] for x, y in zip(results["without memo"], results["with memo"]))
    print(f"metrics identical with and without the memo: {same}")


if __name__ == "__main__":
    main()
