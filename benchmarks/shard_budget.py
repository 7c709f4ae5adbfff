"""Do the ML-1M epoch caps leave SISA's shard sub-models under-trained? (docs/benchmarks.md)

    nice -n 5 python benchmarks/shard_budget.py [--models bpr lightgcn] [--shards 10]
        [--caps recipe 100]

The ML-1M recipe (recipes/cure4rec/ml-1m.yaml) caps BPR at 30 epochs and LightGCN at 39,
sized for the full train set. A shard holds a tenth of it, trains with a smaller batch (the
trainer's 12-step floor: ~6,000 rows a step instead of ~60,000) and so a different number
of rows per update; if its validation NDCG@20 is still rising at the cap, the SISA rows of
the leaderboard understate SISA. Per model, SISA (K shards, seed 0 partition) is learned
twice on CURE4Rec's ML-1M train set (split seed 0): with the recipe's caps, and with the
epoch cap raised (default 100, patience unchanged). Printed per budget: each shard's epochs
run and best epoch, how many shards stopped at the cap with their best there (still
improving when stopped), the ensemble's test NDCG@20 (train and validation items masked,
as the evaluator), and the CPU seconds of the whole learn.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from cure4rec.context import RunContext
from cure4rec.metrics.evaluator import ranking_history
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import FitResult, ModelSpec
from cure4rec.models.torch_base import TorchRecommender

HERE = Path(__file__).resolve().parent


class _Split:
    """What `ranking_history` reads of a forget split: train, valid, no held-out parts."""

    def __init__(self, split: Any) -> None:
        self.train, self.valid, self.holdout_valid = split.train, split.valid, None


def main() -> None:
    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.runner.recipe import load_recipe

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--models", nargs="+", default=["bpr", "lightgcn"])
    p.add_argument("--shards", type=int, default=10)
    p.add_argument("--raised", type=int, default=100, help="the raised epoch cap")
    p.add_argument("--recipe", default=str(HERE.parent / "recipes/cure4rec/ml-1m.yaml"))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    configs = {m.name: dict(m.config) for m in load_recipe(Path(a.recipe)).models}
    split = split_dataset(load_dataset("ml-1m-cure4rec", data_dir=a.data_dir), seed=a.seed)
    hist = ranking_history(_Split(split))
    fits: list[FitResult] = []
    plain_fit = TorchRecommender.fit

    def recording_fit(self: TorchRecommender, *args: Any, **kw: Any) -> FitResult:
        res = plain_fit(self, *args, **kw)
        fits.append(res)
        return res

    TorchRecommender.fit = recording_fit  # type: ignore[method-assign]
    try:
        run(a, configs, split, hist, fits)
    finally:
        TorchRecommender.fit = plain_fit  # type: ignore[method-assign]


def run(a: argparse.Namespace, configs: dict[str, dict[str, Any]], split: Any, hist: Any,
        fits: list[FitResult]) -> None:
    """Learn SISA under each budget and print its row (`fits` collects the shard fits)."""
    from cure4rec.methods.base import make_method

    print(f"ml-1m-cure4rec split {split.sha256[:12]}: train {len(split.train)}; SISA, "
          f"K = {a.shards}, one thread")
    print("| model | epoch cap | shards at the cap, best there | epochs run (best) per shard | "
          "mean best valid NDCG@20 | ensemble test NDCG@20 | learn CPU s |")
    print("|---|--:|--:|---|--:|--:|--:|")
    for name in a.models:
        for cap in (int(configs[name]["epochs"]), a.raised):
            cfg = {**configs[name], "epochs": cap}
            method = make_method("sisa", ModelSpec(name, cfg), {"shards": a.shards})
            ctx = RunContext(seed=a.seed, threads=1)
            fits.clear()
            c0 = time.process_time()
            state = method.learn(split.train, ctx, valid=split.valid)
            cpu = time.process_time() - c0
            ndcg = evaluate_ranking(state.model, hist, split.test, ks=(20,)).mean("ndcg@20")
            at_cap = sum(f.epochs == cap and f.best_epoch == cap for f in fits)
            runs = " ".join(f"{f.epochs}({f.best_epoch})" for f in fits)
            best = sum(f.best_valid or 0.0 for f in fits) / max(len(fits), 1)
            print(f"| {name} | {cap} | {at_cap}/{len(fits)} | {runs} | {best:.4f} | "
                  f"{ndcg:.4f} | {cpu:.0f} |", flush=True)


if __name__ == "__main__":
    main()
