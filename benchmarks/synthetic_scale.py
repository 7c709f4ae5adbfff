"""Scale headroom: a 10M-interaction synthetic dataset, one retrain + one SISA cell end to end.

    nice -n 10 python benchmarks/synthetic_scale.py                       # 10M, BPR, 1 epoch
    nice -n 10 python benchmarks/synthetic_scale.py --interactions 1000000 --epochs 2

Prints the generator's time, then each phase of the runner's own cell pipeline
(`cure4rec.runner.pipeline`: data + split + forget split, the group's original and retrain
references, the `retrain` cell, the `sisa` cell with its method references) with its wall
time and peak RSS (sampled, and `ru_maxrss`), and the size the dense user × item score
matrix would take. The point is memory headroom (target: < 24 GiB), not a converged model:
the epoch budget is small on purpose and the references are the minimum the calibrated
completeness score accepts (3). Evaluator: the recipes' defaults trimmed as in
`recipes/cure4rec/_base.yaml` (bootstrap 200, neighbours 200), plus `shadow_epochs`.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from typing import Any

from _memory import GIB, PhaseMemory, max_rss_bytes

from cure4rec.context import RunContext
from cure4rec.data.synthetic import SyntheticConfig, generate
from cure4rec.runner.cells import CellSpec, expand_cells
from cure4rec.runner.pipeline import forget_split_of, group_models, run_cell
from cure4rec.runner.recipe import recipe_from_dict


def _recipe(args: argparse.Namespace) -> dict[str, Any]:
    model = {"dim": args.dim, "epochs": args.epochs, "batch_size": args.batch_size,
             "lr": 0.005, "patience": 5}
    return {
        "name": "synthetic-scale",
        "dataset": {"name": "synthetic",
                    "params": {"n_users": args.users, "n_items": args.items,
                               "n_interactions": args.interactions}},
        "split": {"protocol": "random", "ratios": [0.8, 0.1, 0.1], "seed": 0},
        "forget": {"strategy": "random", "fraction": 0.05, "seed": 0},
        "models": [{"name": "bpr", "config": model}],
        "methods": [{"name": "retrain"}, {"name": "sisa", "config": {"shards": args.shards}}],
        "seeds": [0],
        "references": {"retrain_seeds": 3, "method_seeds": 3},
        "evaluator": {"ks": [10, 20], "bootstrap": 200, "neighbours_k": 200,
                      "shadow_epochs": args.epochs, "difficulty": None},
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--interactions", type=int, default=10_000_000)
    p.add_argument("--users", type=int, default=50_000)
    p.add_argument("--items", type=int, default=20_000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=8192)
    p.add_argument("--shards", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    dense = args.users * args.items * 4 / GIB
    print(f"synthetic: {args.users:,} users x {args.items:,} items, {args.interactions:,} "
          f"interactions; BPR dim {args.dim}, {args.epochs} epoch(s), SISA K={args.shards}; "
          f"a dense float32 score matrix would take {dense:.2f} GiB", flush=True)
    mem = PhaseMemory()
    t_all = time.perf_counter()
    with mem.phase("generator alone"):
        raw = generate(SyntheticConfig(n_users=args.users, n_items=args.items,
                                       n_interactions=args.interactions))
        n_raw = len(raw.inter)
    del raw
    gc.collect()
    recipe = recipe_from_dict(_recipe(args), where="synthetic_scale")
    with tempfile.TemporaryDirectory(prefix="cure4rec-scale-") as cache:
        cells = {(c.kind, c.method["name"]): c for c in expand_cells(recipe, cache_dir=cache)}
        cells = {k: CellSpec(**{**c.__dict__, "threads": args.threads})
                 for k, c in cells.items()}
        retrain, sisa = cells[("method", "retrain")], cells[("method", "sisa")]
        with mem.phase("data + split + forget split"):
            fs = forget_split_of(retrain)
        print(f"  {n_raw:,} generated, {len(fs.train):,} train, {len(fs.retain):,} retained "
              f"interactions, {len(fs.request.users):,} forgotten users", flush=True)
        with mem.phase("original + 3 references"):
            group_models(retrain, fs, RunContext(seed=retrain.seed, threads=args.threads))
        records = {}
        with mem.phase("retrain cell (learn+eval)"):
            records["retrain"] = run_cell(retrain)
        with mem.phase("sisa cell (learn+eval)"):
            records["sisa"] = run_cell(sisa)
    for name, rec in records.items():
        m, t = rec["metrics"], rec["timings"]
        print(f"{name}: NDCG@20 {m['utility.ndcg@20']:.4f}, calibrated "
              f"{m.get('completeness.calibrated', float('nan')):+.3f}; learn "
              f"{t['learn']['wall_s']:.1f} s, unlearn {t['unlearn']['wall_s']:.1f} s, "
              f"evaluate {t['evaluate']['wall_s']:.1f} s", flush=True)
    print(f"total {time.perf_counter() - t_all:.1f} s; peak RSS (ru_maxrss) "
          f"{max_rss_bytes() / GIB:.2f} GiB (dense score matrix: {dense:.2f} GiB)", flush=True)


if __name__ == "__main__":
    main()
