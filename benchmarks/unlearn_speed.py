"""Learn / unlearn time and speed-up over Retrain for every method, plus test NDCG@20.

    nice -n 5 python benchmarks/unlearn_speed.py --strategies core random edge

ML-100K, BPR, K=10 shards, 5% forget sets; all timings come from this one run. By default
every model trains with BPR's own budget (up to 200 epochs, early stopping on validation
NDCG@20, patience 10), as a real run would; `--epochs N` caps it for a quick look.
"""

from __future__ import annotations

import argparse

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.base import make_method
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

METHODS = [("retrain", {}), ("sisa", {"shards": 10}), ("receraser", {"shards": 10}),
           ("ultrare", {"shards": 10}), ("finetune", {}), ("gradient-ascent", {}),
           ("gradient-ascent+retain", {}), ("scif", {}), ("scif", {"variant": "ifru"})]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/datasets")
    ap.add_argument("--epochs", type=int, default=None, help="cap the epoch budget")
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--strategies", nargs="+", default=["core", "random", "edge"])
    ap.add_argument("--methods", nargs="*", default=None, help="subset of method names")
    args = ap.parse_args()
    split = split_dataset(load_dataset("ml-100k", data_dir=args.data_dir), seed=0)
    spec = ModelSpec("bpr", {"epochs": args.epochs} if args.epochs else {})
    ctx = RunContext(seed=0)
    rows = []
    for strategy in args.strategies:
        fs = make_forget_split(split, strategy=strategy, fraction=args.fraction, seed=0)
        base = None
        for name, cfg in METHODS:
            if args.methods and name not in args.methods:
                continue
            m = make_method(name, spec, cfg)
            state = m.learn(fs.train, ctx, fs.valid)
            res = m.unlearn(state, fs.request, ctx)
            ndcg = evaluate_ranking(res.model, history=fs.retain, test=fs.test).mean("ndcg@20")
            base = res.timing.wall_s if name == "retrain" else base
            label = name + ("-" + cfg["variant"] if "variant" in cfg else "")
            share = res.info.get("share_touched", float("nan"))
            print(strategy, label, f"{res.timing.wall_s:.2f}s", flush=True)
            rows.append((strategy, label, state.timing.wall_s, res.timing.wall_s,
                         (base or float("nan")) / res.timing.wall_s, share, ndcg))
    print(f"{'set':7s} {'method':24s} {'learn s':>8s} {'unlearn s':>9s} {'speed-up':>8s} "
          f"{'shards':>6s} {'NDCG@20':>8s}")
    for r in rows:
        print(f"{r[0]:7s} {r[1]:24s} {r[2]:8.2f} {r[3]:9.2f} {r[4]:8.1f} {r[5]:6.2f} {r[6]:8.4f}")


if __name__ == "__main__":
    main()
