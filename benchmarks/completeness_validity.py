"""Dose-response validity of the calibrated completeness score (docs/metrics.md).

Usage: python benchmarks/completeness_validity.py --data-dir ../shared/datasets
       [--dataset ml-100k] [--models bpr wmf lightgcn] [--strategies core random edge]
       [--fraction 0.05] [--references 8] [--heldout 5] [--seed 0] [--json out.json]

For each model × forget strategy: N references retrained on D − D_f, models trained on
D − x·D_f for x ∈ {0, 0.25, 0.5, 0.75} (x = 0: the original, a no-op), held-out exact
retrains (x = 1, seed paths outside the references'), and one over-forgetting model (a
held-out retrain with the deleted items demoted by one score sd). Prints the score
(verdict: R remembers, = indistinguishable, O over-forgets) per model and the four validity
properties, then the share of held-out retrains read as indistinguishable over the grid.
Model configs are the ML-100K recipes' (recipes/cure4rec/_base.yaml).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.models.base import ModelSpec
from cure4rec.testing.validity import DOSES, check, dose_response

CONFIGS: dict[str, dict[str, Any]] = {
    "wmf": {"dim": 64, "epochs": 30, "patience": 5, "reg": 20.0, "alpha": 2.0, "threads": 1},
    "bpr": {"dim": 64, "epochs": 100, "batch_size": 4096, "lr": 0.005, "patience": 5},
    "lightgcn": {"dim": 64, "layers": 3, "epochs": 100, "batch_size": 4096, "lr": 0.005,
                 "patience": 5},
}
MARK = {"remembers": "R", "indistinguishable": "=", "over-forgets": "O"}


def _cell(s: Any) -> str:
    return f"{s.score:+.3f} {MARK[s.verdict]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/datasets")
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--models", nargs="+", default=["bpr", "wmf", "lightgcn"])
    ap.add_argument("--strategies", nargs="+", default=["core", "random", "edge"])
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--references", type=int, default=8)
    ap.add_argument("--heldout", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write every row here")
    args = ap.parse_args()

    ds = load_dataset(args.dataset, data_dir=args.data_dir)
    split = split_dataset(ds, seed=0, protocol="random", ratios=(0.8, 0.1, 0.1))
    head = ["model", "strategy", *[f"x={x:g}" for x in DOSES], "held-out x=1 (min / mean / max)",
            "held-out =", "over-forget", "monotone", "no-op R", "over O", "s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    dump, n_held, n_ok, all_ok = [], 0, 0, True
    for model in args.models:
        spec = ModelSpec(model, CONFIGS.get(model, {}))
        for strategy in args.strategies:
            t0 = time.perf_counter()
            fs = make_forget_split(split, strategy, args.fraction, seed=args.seed)
            ctx = RunContext(seed=args.seed, threads=args.threads)
            rows = dose_response(fs, spec, ctx, args.references, args.heldout)
            ok = check(rows)
            held = [r.score for r in rows if r.kind == "heldout"]
            n_held += len(held)
            n_ok += sum(h.verdict == "indistinguishable" for h in held)
            all_ok &= ok["monotone"] and ok["noop_remembers"] and ok["over_forget_flagged"]
            doses = [_cell(r.score) for r in rows if r.kind == "dose"]
            hs = [h.score for h in held]
            over = next(r.score for r in rows if r.kind == "over-forget")
            print("| " + " | ".join([
                model, strategy, *doses,
                f"{min(hs):+.3f} / {sum(hs) / len(hs):+.3f} / {max(hs):+.3f}",
                f"{sum(h.verdict == 'indistinguishable' for h in held)}/{len(held)}",
                _cell(over), *("yes" if ok[k] else "NO" for k in
                               ("monotone", "noop_remembers", "over_forget_flagged")),
                f"{time.perf_counter() - t0:.0f}"]) + " |", flush=True)
            dump += [{"model": model, "strategy": strategy, "split_id": fs.split_id,
                      "kind": r.kind, "x": r.x, "score": r.score.score, "z": r.score.z,
                      "p": r.score.p, "noise": r.score.noise, "verdict": r.score.verdict,
                      "n_examples": r.score.n_examples} for r in rows]
    share = n_ok / max(n_held, 1)
    print(f"\nheld-out retrains read indistinguishable: {n_ok}/{n_held} = {share:.1%} "
          f"(required ≥ 95%); monotone / no-op / over-forget on every cell: "
          f"{'yes' if all_ok else 'NO'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dump, f, indent=1)


if __name__ == "__main__":
    main()
