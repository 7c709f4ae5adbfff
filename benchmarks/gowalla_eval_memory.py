"""Full-catalogue evaluation on Gowalla in bounded memory: time and peak RSS of one cell.

    nice -n 10 python benchmarks/gowalla_eval_memory.py --data-dir /work/shared/datasets
    nice -n 10 python benchmarks/gowalla_eval_memory.py --data-dir ... --epochs 2 --cap 256

Card `gowalla-lightgcn` (29,858 users × 40,981 items; a dense float32 score matrix would
take 29,858 × 40,981 × 4 B = 4.9 GB), its train/test split, a random 5% of users forgotten.
Cheap models on purpose — the point is memory, not accuracy: BPR (dim 64) trained for
`--epochs` without validation, as the original (train set), the "unlearned" model (a
retrain on the retained data, another seed) and `--references` retrain references. Then the
runner's own cell evaluator (`evaluate_cell`: utility, completeness incl. the calibrated
score and the distances against the references, user-level and unlearning MIA with their
shadow models, fairness) with the Gowalla recipe's evaluator settings, and
`evaluate_reference` for the original row. Each phase prints its wall time and the peak RSS
inside it (a sampling thread reading VmRSS every 50 ms) beside the process-wide `ru_maxrss`.
`--cap N` additionally caps every evaluation batch at N users (`max_batch_users`).
"""

from __future__ import annotations

import argparse
import time

from _memory import GIB, PhaseMemory, max_rss_bytes, rss_bytes

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.metrics.batching import max_batch_users
from cure4rec.metrics.efficiency import Timing
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_cell, evaluate_reference
from cure4rec.models.base import ModelSpec, Recommender

#: the Gowalla recipe's evaluator (recipes/cure4rec/_base.yaml), with quick attack shadows
EVALUATOR = {"ks": (10, 20), "bootstrap": 200, "neighbours_k": 200}


def _fit(spec: ModelSpec, data: object, ctx: RunContext) -> Recommender:
    model = spec.build()
    model.fit(data, None, ctx)  # type: ignore[arg-type]
    return model


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--references", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cap", type=int, default=None, help="max users per evaluation batch")
    args = p.parse_args(argv)
    mem = PhaseMemory()
    t_all = time.perf_counter()
    with mem.phase("load + split + forget split"):
        ds = load_dataset("gowalla-lightgcn", data_dir=args.data_dir)
        fs = make_forget_split(split_dataset(ds, seed=0, protocol="presplit"), "random", 0.05,
                               seed=0)
    n_u, n_i = fs.train.n_users, fs.train.n_items
    dense = n_u * n_i * 4
    print(f"gowalla-lightgcn: {n_u:,} users x {n_i:,} items, {len(fs.train):,} train, "
          f"{len(fs.test):,} test, {len(fs.request.users):,} forgotten users; dense float32 "
          f"score matrix: {dense / 1e9:.2f} GB ({dense / GIB:.2f} GiB)", flush=True)
    spec = ModelSpec("bpr", {"dim": 64, "epochs": args.epochs, "batch_size": 4096,
                             "lr": 0.005})
    ctx = RunContext(seed=0, threads=args.threads)
    with mem.phase(f"train 2 + {args.references} BPR ({args.epochs} ep)"):
        original = _fit(spec, fs.train, ctx.child("original"))
        unlearned = _fit(spec, fs.retain, ctx.child("unlearned"))
        refs = [_fit(spec, fs.retain, ctx.child(f"ref{j}")) for j in range(args.references)]
    cfg = EvaluatorConfig(**EVALUATOR, shadow_epochs=args.epochs)
    before = rss_bytes()
    with max_batch_users(args.cap), mem.phase("evaluate_cell (full)"):
        cell = evaluate_cell(fs, original, unlearned, refs, ctx.child("eval"), config=cfg,
                             learn_timing=Timing(1.0), unlearn_timing=Timing(1.0),
                             retrain_timing=Timing(1.0))
    eval_peak = mem.rows[-1][2]
    with max_batch_users(args.cap), mem.phase("evaluate_reference"):
        ref = evaluate_reference(fs, original, fs.train, ctx.child("eval"), cfg)
    m = cell.metrics
    print(f"cell: {len(m)} metrics; NDCG@20 {m['utility.ndcg@20']:.4f}, calibrated "
          f"{m['completeness.calibrated']:+.3f}, MIA AUC {m['completeness.mia_auc']:.3f}; "
          f"original row NDCG@20 {ref.metrics['utility.ndcg@20']:.4f}")
    print(f"evaluate_cell: RSS {before / GIB:.2f} GiB before, peak {eval_peak / GIB:.2f} GiB "
          f"(+{(eval_peak - before) / GIB:.2f} GiB) vs {dense / GIB:.2f} GiB for the dense "
          f"score matrix; process peak (ru_maxrss) {max_rss_bytes() / GIB:.2f} GiB; total "
          f"{time.perf_counter() - t_all:.1f} s", flush=True)


if __name__ == "__main__":
    main()
