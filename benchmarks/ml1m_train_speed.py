"""Training time to the best validation NDCG@20 on CURE4Rec's ML-1M (issue 13's targets:
WMF ≤ 10 s, BPR ≤ 30 s, LightGCN ≤ 120 s on 2 cores), with the recipe budgets.

    nice -n 5 python benchmarks/ml1m_train_speed.py [--models wmf bpr lightgcn] [--threads 2]
        [--batch-size 4096 16384 --lr-scale]     # larger batches, lr scaled by √(batch/4096)

Data: card `ml-1m-cure4rec` (their train/test, split seed 0's 10% validation carve-out).
Per model and batch size: wall and CPU seconds of the whole `fit` (training + the validation
evaluations early stopping makes), epochs run, best epoch, s/epoch, test NDCG@20 over test
users (train items masked), and the validation curve (epoch: NDCG@20). One run each: read
ratios within a run, not across runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import math
import time

from cure4rec.context import RunContext
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

BUDGETS = {  # recipes/cure4rec/_base.yaml
    "wmf": {"dim": 64, "epochs": 30, "patience": 5, "reg": 20.0, "alpha": 2.0},
    "bpr": {"dim": 64, "epochs": 100, "batch_size": 4096, "lr": 0.005, "patience": 5},
    "lightgcn": {"dim": 64, "layers": 3, "epochs": 100, "batch_size": 4096, "lr": 0.005,
                 "patience": 5},
}
TARGET = {"wmf": 10.0, "bpr": 30.0, "lightgcn": 120.0}


def main() -> None:
    from cure4rec.data.load import load_dataset, split_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--models", nargs="+", default=["wmf", "bpr", "lightgcn"],
                   choices=sorted(BUDGETS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, nargs="+", default=[4096])
    p.add_argument("--lr-scale", action="store_true", help="lr × √(batch / 4096)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    split = split_dataset(load_dataset("ml-1m-cure4rec", data_dir=a.data_dir), seed=a.seed)
    print(f"ml-1m-cure4rec split {split.sha256[:12]}: train {len(split.train)}, valid "
          f"{len(split.valid)}, test {len(split.test)}; threads {a.threads}")
    print("| model | batch | lr | wall s | CPU s | epochs | best | s/epoch | test NDCG@20 | "
          "target s |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    curves = []
    for name in a.models:
        for bs in (a.batch_size if name != "wmf" else [0]):
            cfg = dict(BUDGETS[name])
            if bs:
                cfg["batch_size"] = bs
                if a.lr_scale:
                    cfg["lr"] = cfg["lr"] * math.sqrt(bs / 4096)
            model = ModelSpec(name, cfg).build()
            ctx = RunContext(seed=a.seed, threads=a.threads)
            t0, c0 = time.perf_counter(), time.process_time()
            fit = model.fit(split.train, split.valid, ctx)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ndcg = evaluate_ranking(model, split.train, split.test, ks=(20,)).mean("ndcg@20")
            n_ep = len(fit.curve)
            print(f"| {name} | {bs or '–'} | {cfg.get('lr', '–')} | {wall:.1f} | {cpu:.1f} | "
                  f"{n_ep} | {fit.best_epoch} | {wall / max(n_ep, 1):.2f} | {ndcg:.4f} | "
                  f"{TARGET[name]:.0f} |", flush=True)
            pts = [f"{int(r['epoch'])}:{r['valid']:.4f}" for r in fit.curve
                   if "valid" in r and "epoch" in r]
            curves.append(f"{name} batch {bs or '–'}: " + " ".join(pts))
    print("\nvalidation curves (epoch:NDCG@20):")
    print("\n".join(curves))


if __name__ == "__main__":
    main()
