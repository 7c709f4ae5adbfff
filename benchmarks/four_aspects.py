"""Four-aspect table on ML-100K / BPR: every available method × core/random/edge 5%.

Usage: python benchmarks/four_aspects.py --data-dir ../shared/datasets --out out/four_aspects
       [--epochs 20] [--strategies core random edge] [--methods retrain sisa ...]
Writes one JSON record per cell to --out and logs a summary table (this script is a CLI,
so the table goes to stdout).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from cure4rec.config import config_hash
from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.errors import CureError
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.base import METHODS, make_method
from cure4rec.methods.retrain import retrain_references
from cure4rec.metrics.efficiency import measure
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_cell, evaluate_reference
from cure4rec.models.base import ModelSpec

log = logging.getLogger("four_aspects")
METHODS_WANTED = ("retrain", "sisa", "receraser", "ultrare", "finetune", "gradient-ascent",
                  "scif")
COLUMNS = ("utility.ndcg@20", "utility.forgotten.ndcg@20", "completeness.topk_overlap_ratio."
           "neighbours", "completeness.forgotten_rank_ratio", "completeness.mia_auc",
           "completeness.mio_auc", "efficiency.unlearn_wall_s", "efficiency.speedup_vs_retrain",
           "fairness.ugf_ndcg@20")


def run_strategy(args: argparse.Namespace, split: Any, strategy: str, spec: ModelSpec,
                 cfg: EvaluatorConfig) -> list[dict[str, Any]]:
    """Evaluate every method on one forget split; returns the records."""
    fs = make_forget_split(split, strategy, args.fraction, seed=args.seed)
    ctx = RunContext(seed=args.seed, threads=args.threads)
    with measure() as t_ret:
        refs = retrain_references(spec, fs.retain, fs.valid, ctx, seeds=(0, 1))
    original = spec.build()
    original.fit(fs.train, fs.valid, ctx.child("original"))
    records = []
    for row, model, hist in (("original", original, fs.train), ("retrain", refs[0], fs.retain)):
        res = evaluate_reference(fs, model, hist, ctx, cfg)
        records.append({"split_id": fs.split_id, "method": f"{row} (reference)", **res.metrics})
    for name in args.methods:
        if name not in METHODS:
            log.warning("method %s is not available; skipped", name)
            continue
        try:
            method = make_method(name, spec)
            mctx = ctx.child(name)
            state = method.learn(fs.train, mctx, fs.valid)
            out = method.unlearn(state, fs.request, mctx)
        except CureError as exc:
            log.warning("%s on %s failed: %s", name, strategy, exc)
            continue
        shards = out.info.get("shard_of_user") if isinstance(out.info, dict) else None
        res = evaluate_cell(fs, state.model, out.model, refs, ctx, config=cfg,
                            learn_timing=state.timing, unlearn_timing=out.timing,
                            retrain_timing=t_ret, shard_of_user=shards)
        records.append({"split_id": fs.split_id, "method": name, **res.metrics,
                        "info": res.info})
        log.info("%s / %s done", strategy, name)
    return records


def main() -> None:
    """Parse arguments, run every strategy, write records, print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--out", default="out/four_aspects")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--fraction", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--strategies", nargs="+", default=["core", "random", "edge"])
    p.add_argument("--methods", nargs="+", default=list(METHODS_WANTED))
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ds = load_dataset(args.dataset, data_dir=args.data_dir)
    split = split_dataset(ds, seed=args.seed)
    spec = ModelSpec("bpr", {"dim": 64, "epochs": args.epochs, "batch_size": 2048,
                             "lr": 0.005})
    cfg = EvaluatorConfig(bootstrap=200)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = [r for s in args.strategies for r in run_strategy(args, split, s, spec, cfg)]
    for rec in records:
        key = config_hash({"split": rec["split_id"], "method": rec["method"],
                           "epochs": args.epochs})
        (out / f"{key}.json").write_text(json.dumps(rec, indent=1, sort_keys=True,
                                                          default=str))
    print("split | method | " + " | ".join(COLUMNS))
    for rec in records:
        vals = " | ".join(f"{rec[c]:.4f}" if c in rec else "" for c in COLUMNS)
        print(f"{rec['split_id'].split('/')[1]} | {rec['method']} | {vals}")


if __name__ == "__main__":
    main()
