"""Unlearning cost in CPU seconds and speed-up over retraining, with 95% CIs over seeds.

    nice -n 10 python benchmarks/unlearn_speed.py                      # BPR, seeds 0-2
    nice -n 10 python benchmarks/unlearn_speed.py --model wmf --seeds 0 1

ML-100K (80/10/10, split seed 0), K = 10 shards, CURE4Rec's recipe budgets. Per seed s every
method learns once on the train set (validation: the full valid split) with RunContext(seed=s),
then unlearns each request from that learned state: core / random / edge 5% of users and a
0.5% random request (a handful of users: where sharding is meant to pay off), forget sets
drawn with seed s.

Cost is CPU time (`time.process_time`: every thread of the process), not wall clock:

- sequential: the whole unlearn call (touched shards one after another, re-partitioning
  and the aggregator included);
- parallel: what K workers would wait for: everything but shard training, plus the
  slowest retrained shard (`Timing.cpu_parallel_s`).

The denominator is a plain retrain on the retained data (same seed, same validation), run
separately from the `retrain` method's own unlearn: the `retrain` row repeats the same work
and must read 1.0 within its CI. Speed-ups are geometric means over seeds; the CI is a
Student-t interval on log speed-up (n seeds, n−1 degrees of freedom). `shards` is the mean
share of shards retrained. `NDCG@20` is the served model's test NDCG@20 (history: the
retained data; forgotten users' test rows held out) and `loss` its relative loss against the
plain retrain of the same seed, 1 − NDCG/NDCG_retrain, averaged over seeds.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
from scipy import stats

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.base import make_method
from cure4rec.methods.retrain import fit_fresh
from cure4rec.metrics.efficiency import measure
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

#: CURE4Rec recipe budgets (recipes/cure4rec/_base.yaml)
MODELS = {"wmf": {"dim": 64, "epochs": 30, "patience": 5, "reg": 20.0, "alpha": 2.0,
                  "threads": 1},
          "bpr": {"dim": 64, "epochs": 100, "batch_size": 4096, "lr": 0.005, "patience": 5},
          "lightgcn": {"dim": 64, "layers": 3, "epochs": 100, "batch_size": 4096, "lr": 0.005,
                       "patience": 5}}
#: label -> (method, config); strict variants reuse the non-strict learned state
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "retrain": ("retrain", {}),
    "sisa": ("sisa", {"shards": 10}),
    "receraser": ("receraser", {"shards": 10}),
    "receraser-strict": ("receraser", {"shards": 10, "strict": True}),
    "ultrare": ("ultrare", {"shards": 10}),
    "ultrare-strict": ("ultrare", {"shards": 10, "strict": True}),
    "scif": ("scif", {}),
}
REQUESTS = [("core", 0.05), ("random", 0.05), ("edge", 0.05), ("random", 0.005)]


def geo_ci(x: list[float]) -> tuple[float, float, float]:
    """Geometric mean and 95% Student-t interval of positive ratios (nan CI for one value)."""
    logs = np.log(np.asarray(x, dtype=float))
    m = float(logs.mean())
    if len(logs) < 2:
        return math.exp(m), math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs)))
    return math.exp(m), math.exp(m - half), math.exp(m + half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/datasets")
    ap.add_argument("--model", default="bpr", choices=sorted(MODELS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--requests", nargs="+", default=[f"{s}:{f}" for s, f in REQUESTS],
                    help="strategy:fraction pairs (default: core/random/edge 5%%, random 0.5%%)")
    args = ap.parse_args()
    requests = []
    for r in args.requests:
        strategy, _, frac = r.partition(":")
        try:
            requests.append((strategy, float(frac)))
        except ValueError:
            ap.error(f"--requests: {r!r} is not strategy:fraction (e.g. core:0.05)")
    split = split_dataset(load_dataset("ml-100k", data_dir=args.data_dir), seed=0)
    spec = ModelSpec(args.model, MODELS[args.model])
    # rows[(request, method)] -> per-seed (seq cpu, parallel cpu, retrain cpu, share, ndcg,
    # retrain ndcg)
    rows: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    t_start = time.perf_counter()
    for seed in args.seeds:
        ctx = RunContext(seed=seed)
        states: dict[str, Any] = {}
        methods = {label: make_method(name, spec, cfg)
                   for label, (name, cfg) in METHODS.items() if label in args.methods}
        for label, m in methods.items():
            twin = label.removesuffix("-strict")
            if label != twin and twin in states:  # same learn: strict differs at unlearn only
                states[label] = states[twin]
            else:
                states[label] = m.learn(split.train, ctx, split.valid)
            print(f"seed {seed} learned {label}: {states[label].timing.cpu_s:.1f} CPU s",
                  flush=True)
        for strategy, frac in requests:
            fs = make_forget_split(split, strategy=strategy, fraction=frac, seed=seed)
            req = f"{strategy} {frac:.1%}"
            with measure() as ret:  # the denominator: plain retraining, same seed path
                oracle = fit_fresh(methods.get("retrain") or make_method("retrain", spec),
                                   fs.retain, split.valid, ctx.child("retrain-learn").child("model"))

            def ndcg(model: Any) -> float:
                return evaluate_ranking(model, history=fs.retain, test=fs.test,  # noqa: B023
                                        ks=(20,)).mean("ndcg@20")

            base = ndcg(oracle)
            for label, m in methods.items():
                out = m.unlearn(states[label], fs.request, ctx)
                t = out.timing
                share = t.share_touched if t.share_touched is not None else math.nan
                u = ndcg(out.model)
                rows.setdefault((req, label), []).append(
                    (t.cpu_s, t.parallel_cpu_s, ret.cpu_s, share, u, base))
                print(f"seed {seed} {req:12s} {label:17s} {t.cpu_s:7.2f} CPU s "
                      f"(parallel {t.parallel_cpu_s:6.2f}; retrain {ret.cpu_s:6.2f}; "
                      f"wall {t.wall_s:6.2f}) NDCG@20 {u:.4f} (retrain {base:.4f})", flush=True)
        summary(rows, args.model, args.seeds[:args.seeds.index(seed) + 1], t_start)


def summary(rows: dict[tuple[str, str], list[tuple[float, ...]]], model: str,
            seeds: list[int], t_start: float) -> None:
    """Print the table over the seeds done so far (after every seed: a partial run still
    leaves a table)."""
    print(f"\nML-100K, {model}, K=10, seeds {seeds}; CPU seconds (process time); "
          f"speed-up = retrain CPU / unlearn CPU, geometric mean [95% CI]; "
          f"total wall {time.perf_counter() - t_start:.0f} s")
    print(f"{'request':12s} {'method':17s} {'seq s':>7s} {'par s':>7s} {'retrain s':>9s} "
          f"{'speed-up seq [95% CI]':>24s} {'speed-up par [95% CI]':>24s} {'shards':>6s} "
          f"{'NDCG@20':>7s} {'loss':>6s}")
    for (req, label), vals in rows.items():
        a = np.asarray(vals)
        seq = geo_ci(list(a[:, 2] / a[:, 0]))
        par = geo_ci(list(a[:, 2] / a[:, 1]))
        share = "-" if np.isnan(a[:, 3]).all() else f"{np.nanmean(a[:, 3]):.2f}"
        loss = float(np.mean(1 - a[:, 4] / a[:, 5]))
        print(f"{req:12s} {label:17s} {a[:, 0].mean():7.2f} {a[:, 1].mean():7.2f} "
              f"{a[:, 2].mean():9.2f} {seq[0]:7.2f} [{seq[1]:6.2f}, {seq[2]:6.2f}]   "
              f"{par[0]:7.2f} [{par[1]:6.2f}, {par[2]:6.2f}]   {share:>6s} "
              f"{a[:, 4].mean():7.4f} {loss:6.1%}")


if __name__ == "__main__":
    main()
