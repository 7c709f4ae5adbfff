"""Four-aspect tables on ML-100K / BPR: every method × core/random/edge 5%, plus recovery.

Usage: python benchmarks/four_aspects.py --data-dir ../shared/datasets --out out/four_aspects
       [--epochs 200] [--patience 5] [--strategies core random edge] [--methods retrain ...]
       [--no-recovery] [--references 8] [--method-references 4]
Models train up to --epochs with early stopping on validation NDCG@20 (--patience); the
attack shadows do the same on their own users' validation rows. Writes one JSON record per
cell to --out (the functional recovery test as records of split ``.../recovery-shilling``)
and prints the tables as Markdown (this script is a CLI, so the tables go to stdout).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from cure4rec.config import config_hash
from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.errors import CureError
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.base import METHODS, make_method
from cure4rec.methods.retrain import (
    default_reference_kind,
    method_references,
    retrain_references,
)
from cure4rec.metrics.efficiency import measure
from cure4rec.metrics.evaluator import (
    EvaluatorConfig,
    evaluate_cell,
    evaluate_recovery,
    evaluate_reference,
)
from cure4rec.metrics.recovery import recovery_reference
from cure4rec.models.base import ModelSpec

log = logging.getLogger("four_aspects")
METHODS_WANTED = ("retrain", "sisa", "receraser", "ultrare", "finetune", "gradient-ascent",
                  "scif")
C = "completeness."
COLUMNS = ("utility.ndcg@20", "utility.forgotten.ndcg@20", C + "calibrated", C + "calibrated.p",
           C + "topk_overlap_ratio.neighbours",
           C + "js_ratio.neighbours", C + "forgotten_rank_lift", C + "forgotten_rank_ratio", C + "mia_auc",
           C + "interaction_mia_auc", C + "umia_auc",
           "efficiency.unlearn_wall_s", "efficiency.speedup_vs_retrain", "fairness.ugf_ndcg@20")
ATTACKS = ("mia_auc", "mia_tpr@1fpr", "interaction_mia_auc", "interaction_mia_tpr@0.1fpr",
           "umia_auc", "umia_tpr@1fpr")
RECOVERY = ("recovery", "recovery_exposure", "recovery_exposure.original",
            "recovery_exposure.retrain", "recovery_rank", "recovery_target_rank",
            "recovery_target_rank.original", "recovery_target_rank.retrain", "recovery_ndcg@20", "recovery_ndcg@20.retrain")


def _method(name: str, spec: ModelSpec) -> Any:
    if name not in METHODS:
        log.warning("method %s is not available; skipped", name)
        return None
    return make_method(name, spec)


def run_strategy(args: argparse.Namespace, split: Any, strategy: str, spec: ModelSpec,
                 cfg: EvaluatorConfig) -> list[dict[str, Any]]:
    """Evaluate every method on one forget split; returns the records."""
    fs = make_forget_split(split, strategy, args.fraction, seed=args.seed)
    ctx = RunContext(seed=args.seed, threads=args.threads)
    with measure() as t_ret:  # the retrain whose cost an unlearner is compared with: r0
        refs = retrain_references(spec, fs.retain, fs.valid, ctx, seeds=(0,))
    refs += retrain_references(spec, fs.retain, fs.valid, ctx,
                               seeds=range(1, args.references))
    original = spec.build()
    original.fit(fs.train, fs.valid, ctx.child("original"))
    records = []
    for row, model, hist in (("original", original, fs.train), ("retrain", refs[0], fs.retain)):
        res = evaluate_reference(fs, model, hist, ctx, cfg)
        records.append({"split_id": fs.split_id, "method": f"{row} (reference)", **res.metrics})
    cache: dict[Any, Any] = {}  # attack shadows: fitted once per split, shared by the methods
    for name in args.methods:
        method = _method(name, spec)
        if method is None:
            continue
        try:
            mctx = ctx.child(name)
            state = method.learn(fs.train, mctx, fs.valid)
            out = method.unlearn(state, fs.request, mctx)
        except CureError as exc:
            log.warning("%s on %s failed: %s", name, strategy, exc)
            continue
        # exact methods (SISA; RecEraser / UltraRE only with strict=True) are judged against their own algorithm
        # learned on the retained data; everything else against the plain retrains
        kind = default_reference_kind(method.card)
        mrefs = (refs if kind == "retrain" else
                 method_references(method, fs.retain, fs.valid, mctx,
                                   seeds=range(args.method_references)))
        res = evaluate_cell(fs, state.model, out.model, mrefs, ctx, config=cfg,
                            learn_timing=state.timing, unlearn_timing=out.timing,
                            retrain_timing=t_ret, cache=cache, attack_template=refs[0],
                            shard_of_user=getattr(out.model, "user_shard", None))
        records.append({"split_id": fs.split_id, "method": name, **res.metrics,
                        "info": {**res.info, "reference_kind": kind}})
        log.info("%s / %s done", strategy, name)
    return records


def run_recovery(args: argparse.Namespace, split: Any, spec: ModelSpec,
                 cfg: EvaluatorConfig) -> list[dict[str, Any]]:
    """The functional shilling test for every method, sharing one retrained reference."""
    ctx = RunContext(seed=args.seed, threads=args.threads).child("bench")
    ref = recovery_reference(spec, split, ctx.child("recovery"))
    split_id = f"{split.dataset.name}@{split.dataset.version}/recovery-shilling/seed{args.seed}"
    records = []
    for name in args.methods:
        method = _method(name, spec)
        if method is None:
            continue
        try:
            m = evaluate_recovery(method, spec, split, ctx, cfg, reference=ref)
        except CureError as exc:
            log.warning("recovery with %s failed: %s", name, exc)
            continue
        records.append({"split_id": split_id, "method": name, **m})
        log.info("recovery / %s done", name)
    return records


def _table(records: list[dict[str, Any]], columns: tuple[str, ...], prefix: str = "") -> str:
    head = "| split | method | " + " | ".join(c.removeprefix(prefix) for c in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 2)]
    for rec in records:
        vals = " | ".join(f"{rec[prefix + c]:.4f}" if prefix + c in rec else "" for c in columns)
        lines.append(f"| {rec['split_id'].split('/')[1]} | {rec['method']} | {vals} |")
    return "\n".join(lines)


def _attack_refs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per split, the attacks on the original and on retrain r0 (from the retrain-method row)."""
    rows = []
    for rec in records:
        if rec["method"] == "retrain":
            for who in ("original", "retrain"):
                rows.append({"split_id": rec["split_id"], "method": f"{who} model",
                             **{C + a: rec[f"{C}{a}.{who}"] for a in ATTACKS
                                if f"{C}{a}.{who}" in rec}})
    return rows


def main() -> None:
    """Parse arguments, run every strategy and the recovery test, write records and tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--out", default="out/four_aspects")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--fraction", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--references", type=int, default=8,
                   help="plain retrain references (>= 3: the calibrated completeness null is "
                        "leave-one-out over them)")
    p.add_argument("--method-references", type=int, default=4,
                   help="own-algorithm references of the exact ensembles (>= 3)")
    p.add_argument("--strategies", nargs="*", default=["core", "random", "edge"])
    p.add_argument("--methods", nargs="+", default=list(METHODS_WANTED))
    p.add_argument("--no-recovery", action="store_true")
    args = p.parse_args()
    if min(args.references, args.method_references) < 3:
        raise SystemExit("--references and --method-references must be >= 3 (the calibrated "
                         "completeness null is leave-one-out over them)")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    start = time.perf_counter()
    split = split_dataset(load_dataset(args.dataset, data_dir=args.data_dir), seed=args.seed)
    spec = ModelSpec("bpr", {"dim": 64, "epochs": args.epochs, "patience": args.patience,
                             "batch_size": 2048, "lr": 0.005})
    cfg = EvaluatorConfig(bootstrap=args.bootstrap, recovery=not args.no_recovery)
    records = [r for s in args.strategies for r in run_strategy(args, split, s, spec, cfg)]
    recovery = [] if args.no_recovery else run_recovery(args, split, spec, cfg)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for rec in records + recovery:
        key = config_hash({"split": rec["split_id"], "method": rec["method"],
                           "model": spec.config, "bootstrap": args.bootstrap})
        (out / f"{key}.json").write_text(json.dumps(rec, indent=1, sort_keys=True,
                                                    default=str))
    print(f"## Four aspects ({args.dataset}, BPR, {args.fraction:.0%} users, seed {args.seed})\n")
    print(_table(records, COLUMNS))
    print("\n## Attacks on the original and the retrained model r0 (the target values)\n")
    print(_table(_attack_refs(records), ATTACKS, C))
    if recovery:
        print("\n## Functional recovery (50 shilling users on 5 targets, unlearned)\n")
        print(_table(recovery, RECOVERY, C))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
