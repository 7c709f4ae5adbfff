"""SCIF before / after issue 12: the influence step on pointwise BCE vs the model's own loss.

    nice -n 10 python benchmarks/scif_loss.py --models bpr wmf --strategies core random edge

ML-100K (80/10/10, seed 0), 5% of users forgotten, CURE4Rec recipe budgets, seed 0. For each
model and forget set: the original model, SCIF-paper with `loss: bce` (the step before the
change: BCE with sampled negatives whatever the model) and with `loss: auto` (BPR's pairwise
loss for BPR, ALS's weighted squared loss for WMF), and a plain retrain. Printed per row:
test NDCG@20 (history: the retained data), the user-level MIA AUC on the forgotten users
(`cure4rec.metrics.mia.run_mia`, attack trained on shadow retrains; the retrain's own value
is the target), the calibrated completeness score against 8 retrain references (0 = as a
retrain; verdict R remembers / = indistinguishable / O over-forgets; the "retrain" row is a
held-out retrain, not a reference) and the mean cosine between a forgotten user's row and
the centroid of their forgotten items' rows (a never-trained row reads ≈ 0).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.base import make_method
from cure4rec.methods.retrain import reference_context, retrain_references
from cure4rec.metrics.calibrated import ReferenceStats, candidate_history, headline_unit
from cure4rec.metrics.mia import run_mia, train_user_attack
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

MODELS = {"wmf": {"dim": 64, "epochs": 30, "patience": 5, "reg": 20.0, "alpha": 2.0,
                  "threads": 1},
          "bpr": {"dim": 64, "epochs": 100, "batch_size": 4096, "lr": 0.005, "patience": 5}}


def taste_cosine(model: Any, forget: Any) -> float:
    """Mean cosine(user row, centroid of the user's forgotten items' rows) over users."""
    U, V = model.user_table().detach(), model.item_table().detach()
    out = []
    for u in np.unique(forget.user):
        c = V[torch.as_tensor(forget.item[forget.user == u])].mean(0)
        out.append(float(torch.nn.functional.cosine_similarity(U[int(u)], c, dim=0)))
    return float(np.mean(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/datasets")
    ap.add_argument("--models", nargs="+", default=["bpr", "wmf"], choices=sorted(MODELS))
    ap.add_argument("--strategies", nargs="+", default=["core", "random", "edge"])
    args = ap.parse_args()
    split = split_dataset(load_dataset("ml-100k", data_dir=args.data_dir), seed=0)
    ctx = RunContext(seed=0)
    rows = []
    for name in args.models:
        spec = ModelSpec(name, MODELS[name])
        for strategy in args.strategies:
            fs = make_forget_split(split, strategy=strategy, fraction=0.05, seed=0)
            variants = {f"scif loss={loss}": make_method("scif", spec, {"loss": loss})
                        for loss in ("bce", "auto")}
            state = next(iter(variants.values())).learn(fs.train, ctx, fs.valid)
            refs = retrain_references(spec, fs.retain, fs.valid, ctx, seeds=range(8))
            held = spec.build()
            held.fit(fs.retain, fs.valid, reference_context(ctx, "heldout", 0))
            hist = candidate_history(fs)
            stats = ReferenceStats.build(refs, fs.request.forget, hist,
                                         headline_unit(fs.request.kind))
            models = {"original": state.model, "retrain": held}
            for label, m in variants.items():
                models[label] = m.unlearn(state, fs.request, ctx).model
            holdout = (fs.holdout_test.concat(fs.holdout_valid) if len(fs.holdout_valid)
                       else fs.holdout_test)  # as the evaluator's attacks
            mctx = ctx.child("mia")
            attack = train_user_attack(refs[0], fs.retain, fs.train, mctx, valid=fs.valid)
            for label, model in models.items():
                ndcg = evaluate_ranking(model, history=fs.retain, test=fs.test,
                                        ks=(20,)).mean("ndcg@20")
                mia = run_mia(state.model, model, refs, fs.train, fs.retain, fs.request.forget,
                              holdout, mctx, valid=fs.valid, attack=attack)
                cal = stats.score(model, fs.request.forget, hist)
                rows.append((name, strategy, label, ndcg, mia["mia_auc.unlearned"],
                             mia["mia_auc.retrain"], taste_cosine(model, fs.request.forget),
                             cal.score, {1: "R", 0: "=", -1: "O"}[cal.verdict_code]))
                print(*rows[-1], flush=True)
    print("\n| model | set | model served | NDCG@20 | user MIA AUC | (retrain's) | "
          "cos(user, forgotten items) | calibrated |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.4f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:+.3f} "
              f"| {r[7]:+.3f} {r[8]} |")


if __name__ == "__main__":
    main()
