"""Training time to the best validation NDCG@20 on CURE4Rec's ML-1M (issue 13's targets:
WMF ≤ 10 s, BPR ≤ 30 s, LightGCN ≤ 120 s on 2 cores): the old budgets (recipes/cure4rec/
_base.yaml, which ML-100K keeps) and the ML-1M recipe's budgets side by side, in one run.

    nice -n 5 python benchmarks/ml1m_train_speed.py [--models wmf bpr lightgcn]
        [--budgets old new] [--threads 1] [--recipe recipes/cure4rec/ml-1m.yaml]

Data: card `ml-1m-cure4rec` (their train/test, split seed 0's 10% validation carve-out).
Per model and budget: wall and CPU seconds of the whole `fit` (training + the validation
evaluations early stopping makes), epochs run, best epoch, test NDCG@20 over test users
(train items masked), then new/old ratios, and the validation curves (epoch: NDCG@20).
`--threads` is the run's thread count (1 = what a recipe cell uses; torch models train on
one intra-op thread either way unless it is raised). Read ratios within a run, not across
runs: the machine is shared.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from cure4rec.context import RunContext
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

HERE = Path(__file__).resolve().parent
#: the budgets before issue 13 (recipes/cure4rec/_base.yaml; ML-100K still uses them)
OLD = {
    "wmf": {"dim": 64, "epochs": 30, "patience": 5, "reg": 20.0, "alpha": 2.0},
    "bpr": {"dim": 64, "epochs": 100, "batch_size": 4096, "lr": 0.005, "patience": 5},
    "lightgcn": {"dim": 64, "layers": 3, "epochs": 100, "batch_size": 4096, "lr": 0.005,
                 "patience": 5},
}
TARGET = {"wmf": 10.0, "bpr": 30.0, "lightgcn": 120.0}
KEYS = ("epochs", "batch_size", "lr", "eval_every", "patience", "cg_steps")


def recipe_budgets(path: Path) -> dict[str, dict[str, Any]]:
    """The model configs of a recipe (the new budgets: recipes/cure4rec/ml-1m.yaml)."""
    from cure4rec.runner.recipe import load_recipe

    return {m.name: dict(m.config) for m in load_recipe(path).models}


def budget_text(cfg: dict[str, Any]) -> str:
    return ", ".join(f"{k} {cfg[k]}" for k in KEYS if k in cfg)


def main() -> None:
    from cure4rec.data.load import load_dataset, split_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--models", nargs="+", default=["wmf", "bpr", "lightgcn"], choices=sorted(OLD))
    p.add_argument("--budgets", nargs="+", default=["old", "new"], choices=["old", "new"])
    p.add_argument("--recipe", default=str(HERE.parent / "recipes/cure4rec/ml-1m.yaml"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--old-max-epochs", nargs="*", default=[], metavar="MODEL=E",
                   help="cap an old budget's epochs (e.g. lightgcn=3: its s/epoch only; its "
                        "NDCG and totals are then not the old budget's)")
    a = p.parse_args()
    budgets = {"old": OLD, "new": recipe_budgets(Path(a.recipe))}
    caps = {m: int(e) for m, e in (x.split("=") for x in a.old_max_epochs)}
    split = split_dataset(load_dataset("ml-1m-cure4rec", data_dir=a.data_dir), seed=a.seed)
    print(f"ml-1m-cure4rec split {split.sha256[:12]}: train {len(split.train)}, valid "
          f"{len(split.valid)}, test {len(split.test)}; threads {a.threads}")
    print("| model | budget | wall s | CPU s | epochs | best | train CPU s/epoch | "
          "test NDCG@20 | target s |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    curves, ratios = [], []
    for name in a.models:
        got: dict[str, tuple[float, float, float]] = {}
        for which in a.budgets:
            cfg = dict(budgets[which][name])
            capped = which == "old" and name in caps
            if capped:
                cfg["epochs"] = caps[name]
            model = ModelSpec(name, cfg).build()
            ctx = RunContext(seed=a.seed, threads=a.threads)
            t0, c0 = time.perf_counter(), time.process_time()
            fit = model.fit(split.train, split.valid, ctx)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ndcg = evaluate_ranking(model, split.train, split.test, ks=(20,)).mean("ndcg@20")
            if not capped:
                got[which] = (wall, cpu, ndcg)
            per = [r["cpu_seconds"] for r in fit.curve if "cpu_seconds" in r]
            print(f"| {name} | {which}{' (capped)' if capped else ''}: {budget_text(cfg)} | "
                  f"{wall:.1f} | {cpu:.1f} | {fit.epochs} | {fit.best_epoch} | "
                  f"{sum(per) / len(per) if per else float('nan'):.2f} | {ndcg:.4f} | "
                  f"{TARGET[name]:.0f} |", flush=True)
            pts = [f"{int(r['epoch'])}:{r['valid']:.4f}" for r in fit.curve if "valid" in r]
            curves.append(f"{name} {which}: " + " ".join(pts))
        if "old" in got and "new" in got:
            (w0, c0_, n0), (w1, c1, n1) = got["old"], got["new"]
            ratios.append(f"| {name} | {w1 / w0:.3f} | {c1 / c0_:.3f} | {n1 - n0:+.4f} |")
    if ratios:
        print("\n| model | wall new/old | CPU new/old | test NDCG@20 new − old |")
        print("|---|--:|--:|--:|")
        print("\n".join(ratios))
    print("\nvalidation curves (epoch:NDCG@20):")
    print("\n".join(curves))


if __name__ == "__main__":
    main()
