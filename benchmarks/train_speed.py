"""Training speed and quality: this suite's trainer vs RecBole's Trainer on the same split.

    python benchmarks/train_speed.py [--seeds 0 1 2] [--data-dir DIR] [--max-epochs 100]
    python benchmarks/train_speed.py --synthetic-scale 1m

ML-100K (5-core, 80/10/10): BPR and LightGCN, same dim/lr/batch/patience for both
implementations, the same torch thread count (`--threads`, default 1) for both; prints s/epoch (training only), epochs to the best
validation NDCG@20, test NDCG@20 and Recall@20, and ratios. `--synthetic-scale 1m` times
BPR epochs on ~1M synthetic interactions and WMF ALS iterations beside `implicit`'s own.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

SHARED = {"lr": 5e-3, "batch_size": 4096, "patience": 10}


def _run(spec: ModelSpec, split, seed: int,  # type: ignore[no-untyped-def]
         threads: int) -> dict[str, float]:
    model = spec.build()
    fit = model.fit(split.train, split.valid, RunContext(seed=seed, threads=threads))
    res = evaluate_ranking(model, split.train, split.test, ks=(20,))
    secs = [r["seconds"] for r in fit.curve if "seconds" in r]
    cpu = [r["cpu_seconds"] for r in fit.curve if "cpu_seconds" in r]
    return {"s/epoch": float(np.median(secs)), "cpu/epoch": float(np.median(cpu)),
            "best_epoch": fit.best_epoch,
            "ndcg@20": res.mean("ndcg@20"), "recall@20": res.mean("recall@20")}


def ml100k(seeds: list[int], data_dir: str, max_epochs: int, threads: int,
           models: list[str]) -> None:
    """The ML-100K comparison table (means over seeds)."""
    from cure4rec.data.load import load_dataset, split_dataset

    ds = load_dataset("ml-100k", data_dir=data_dir)
    pairs = {"BPR": (ModelSpec("bpr", {**SHARED, "epochs": max_epochs}),
                     ModelSpec("recbole", {"model": "BPR", "epochs": max_epochs, **SHARED,
                                                "params": {"embedding_size": 64}})),
             "LightGCN": (ModelSpec("lightgcn", {**SHARED, "epochs": max_epochs, "layers": 3}),
                          ModelSpec("recbole", {"model": "LightGCN", "epochs": max_epochs,
                                                **SHARED, "params": {"n_layers": 3,
                                                           "embedding_size": 64}}))}
    print(f"ML-100K 5-core 80/10/10, seeds {seeds}, dim 64, lr {SHARED['lr']}, "
          f"batch {SHARED['batch_size']}, patience {SHARED['patience']}, {threads} torch thread(s); "
          "s/epoch = median training-only wall time, cpu/epoch = its process CPU time "
          "(validation excluded on both sides)")
    print(f"{'model':9} {'impl':8} {'s/epoch':>8} {'cpu/ep':>8} {'best_ep':>8} {'ndcg@20':>8} "
          f"{'recall@20':>9}")
    for name, (ours_spec, rb_spec) in ((m, pairs[m]) for m in models):
        rows = {}
        for impl, spec in (("cure4rec", ours_spec), ("recbole", rb_spec)):
            runs = [_run(spec, split_dataset(ds, seed=s), s, threads) for s in seeds]
            rows[impl] = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
            r = rows[impl]
            print(f"{name:9} {impl:8} {r['s/epoch']:8.4f} {r['cpu/epoch']:8.4f} {r['best_epoch']:8.1f} "
                  f"{r['ndcg@20']:8.4f} {r['recall@20']:9.4f}", flush=True)
        a, b = rows["cure4rec"], rows["recbole"]
        print(f"{name:9} ratio    speed-up/epoch {b['s/epoch'] / a['s/epoch']:.1f}x wall, "
              f"{b['cpu/epoch'] / a['cpu/epoch']:.1f}x cpu  "
              f"ndcg@20 diff {a['ndcg@20'] - b['ndcg@20']:+.4f}  "
              f"recall@20 diff {a['recall@20'] - b['recall@20']:+.4f}")


def synthetic_1m(seed: int = 0) -> None:
    """BPR s/epoch on ~1M interactions; WMF s/iteration vs implicit on the same matrix."""
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 6040, 3706, 1_000_209
    pu = rng.pareto(1.5, n_users) + 1
    pi = rng.pareto(1.2, n_items) + 1
    keys = np.unique(rng.choice(n_users, 2 * n, p=pu / pu.sum()) * n_items
                     + rng.choice(n_items, 2 * n, p=pi / pi.sum()))
    keys = rng.permutation(keys)[:n]
    train = Interactions.from_pairs(keys // n_items, keys % n_items, n_users, n_items)
    print(f"synthetic: {n_users} users x {n_items} items, {len(train)} interactions")
    bpr = ModelSpec("bpr", {"epochs": 3, "batch_size": 8192}).build()
    fit = bpr.fit(train, None, RunContext(seed=seed, threads=1))
    print(f"BPR (batch 8192): {np.median([r['seconds'] for r in fit.curve]):.3f} s/epoch "
          f"(target < 1.5)")
    wmf = ModelSpec("wmf", {"epochs": 3}).build()
    fit = wmf.fit(train, None, RunContext(seed=seed))
    ours = float(np.median([r["seconds"] for r in fit.curve]))
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(factors=64, regularization=20.0, alpha=1.0, iterations=3,
                                      random_state=seed)
        c = 3.0 * train.csr()
        t = time.perf_counter()
        als.fit(c, show_progress=False)
        raw = (time.perf_counter() - t) / 3
    print(f"WMF: {ours:.3f} s/ALS iteration (cure4rec) vs {raw:.3f} (implicit alone)")


def main() -> None:
    """Parse arguments and run the chosen benchmark."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--max-epochs", type=int, default=100)
    p.add_argument("--models", nargs="+", choices=("BPR", "LightGCN"),
                   default=["BPR", "LightGCN"])
    p.add_argument("--threads", type=int, default=1, help="torch threads for both sides")
    p.add_argument("--synthetic-scale", choices=("1m",), help="run the 1M synthetic timing")
    args = p.parse_args()
    if args.synthetic_scale:
        synthetic_1m(args.seeds[0])
    else:
        ml100k(args.seeds, args.data_dir, args.max_epochs, args.threads, args.models)


if __name__ == "__main__":
    main()
