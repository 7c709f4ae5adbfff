"""Attribute unlearning judged by the adversaries of docs/fairness.md's threat model.

For each dataset × model × attribute: train the model, draw a seeded, stratified half of the
labelled users (`--seen`, 0.5) whose labels the unlearning method may use, run original /
U2U / D2D / adversarial, and attack every model with the full attacker panel
(`cure4rec.metrics.attribute_attack.ATTACKERS`: LR, MLP, GB, RBF-SVM, kNN; no down-sampling,
stratified `--folds` × `--repeats`) as
  (a) ``rep``:    the served user representation (LightGCN: propagated; NeuMF: both tables),
  (b) ``lists``:  multi-hot of the top-20 recommendation list (history excluded),
      ``scores``: the scores of the 256 most popular train items,
  (c) ``diff``:   served representation after − before (the original model),
each *in-sample* (attack folds over the users the method saw) and *out-of-sample* (over
the other half, whose labels the method never saw). A cell is the panel's max AUC (mean over
folds × repeats) with its 95% interval, "±s r" the std over repeats of the per-repeat mean
AUC (the precision the figure supports), and the attacker's name. NDCG@20 on the test split with a 95% normal interval
over users. The methods act on the served representation (`target="served"`).

Users added after unlearning (`--late F`, MF models only): a seeded, stratified fraction F
of the labelled users is left out of training altogether; the original is trained without
them, each method unlearns with the labels of a seen half of the trained users, and the late
users are then folded in to every method's model (`cure4rec.fairness.foldin`: their rows
fitted against the frozen item table, the same seed for every method). Their rows (a) and
top-20 lists (b) are attacked (folds over the late users only) and their NDCG@20 reported.

Usage: python benchmarks/attribute_unlearning.py [--data-dir ../shared/datasets]
       [--datasets ml-100k] [--models bpr,lightgcn] [--attributes gender,age-bucket]
       [--late 0.2]
Markdown rows go to stdout (and `--out FILE`); progress to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
import torch

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.fairness.embeddings import attribute_codes, user_representation
from cure4rec.fairness.foldin import FOLD_IN_MODELS, fold_in_users
from cure4rec.methods.adversarial import AdversarialFactory
from cure4rec.methods.attribute import AttributeConfig, unlearn_attribute
from cure4rec.metrics.attribute_attack import (
    ATTACKERS,
    attribute_attack,
    difference_features,
    panel_max,
    score_features,
    topk_features,
)
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

ADVERSARIES = ("rep", "lists", "scores", "diff")


def age_codes(attrs: pd.DataFrame) -> np.ndarray:
    """Age buckets <25, 25-34, 35-44, 45+ as class codes (-1 where missing)."""
    age = pd.to_numeric(attrs["age"], errors="coerce").to_numpy()
    codes = np.digitize(age, [25, 35, 45])
    return np.where(np.isnan(age), -1, codes).astype(np.int64)


def seen_mask(codes: np.ndarray, fraction: float, ctx: RunContext) -> np.ndarray:
    """A seeded, per-class `fraction` of the labelled users (the users the method sees)."""
    rng, seen = ctx.child("seen-users").rng(), np.zeros(len(codes), dtype=bool)
    for c in np.unique(codes[codes >= 0]):
        idx = np.flatnonzero(codes == c)
        seen[rng.choice(idx, int(round(fraction * len(idx))), replace=False)] = True
    return seen


def ndcg_ci(model, split) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    v = evaluate_ranking(model, split.train, split.test, ks=(20,)).per_user["ndcg@20"]
    return float(v.mean()), float(1.96 * v.std(ddof=1) / np.sqrt(len(v)))


def features(model, original_rep, split) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    rep = user_representation(model)
    out = {"rep": rep, "lists": topk_features(model, split.train, 20),
           "scores": score_features(model, split.train, 256)}
    if original_rep is not None:
        out["diff"] = difference_features(original_rep, rep)
    return out


def cell(feats: np.ndarray, labels: np.ndarray, ctx: RunContext, args) -> str:  # type: ignore[no-untyped-def]
    best = panel_max(attribute_attack(feats, labels, ctx, ATTACKERS, args.folds, args.repeats))
    rep = "" if np.isnan(best.auc_repeat_std) else f" ±{best.auc_repeat_std:.3f}r"
    return f"{best.auc:.3f} [{best.auc_low:.3f}, {best.auc_high:.3f}]{rep} {best.attacker}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3,
                   help="attack repeats (fresh fold shuffles); 3 = attribute_attack's default")
    p.add_argument("--seen", type=float, default=0.5)
    p.add_argument("--models", default="bpr,lightgcn")
    p.add_argument("--datasets", default="ml-100k")
    p.add_argument("--attributes", default="gender")
    p.add_argument("--methods", default="original,u2u,d2d,adversarial")
    p.add_argument("--sample", type=int, default=1024,
                   help="users per group per step for D2D's MMD when a dataset has > 2000 users")
    p.add_argument("--late", type=float, default=0.0,
                   help="measure users added after unlearning: this fraction of the labelled "
                        "users is left out of training and folded in afterwards")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.late:
        return late_main(args)
    head = (f"attribute_unlearning: epochs={args.epochs} steps={args.steps} folds={args.folds} "
            f"repeats={args.repeats} seen={args.seen} panel={','.join(ATTACKERS)}")
    lines = [head, "", "| dataset | model | attribute | method | NDCG@20 | " + " | ".join(
        f"{a} {s}" for a in ADVERSARIES for s in ("in", "out")) + " |",
        "|" + "---|" * (5 + 2 * len(ADVERSARIES))]
    print("\n".join(lines), flush=True)
    torch.set_num_threads(2)
    ctx = RunContext(seed=0)
    for name in args.datasets.split(","):
        split = split_dataset(load_dataset(name, data_dir=args.data_dir), seed=0)
        targets = targets_of(split, args)
        for mname in args.models.split(","):
            spec = ModelSpec(mname, {"epochs": args.epochs, "batch_size": 2048, "lr": 5e-3})
            model = spec.build()
            model.fit(split.train, split.valid, ctx.child(f"{name}-{mname}"))
            orig_rep = user_representation(model)
            for attr, codes in targets.items():
                seen = seen_mask(codes, args.seen, ctx.child(f"{name}-{attr}"))
                lab_in, lab_out = np.where(seen, codes, -1), np.where(~seen, codes, -1)
                actx = ctx.child(f"attack-{name}-{attr}")
                for method in args.methods.split(","):
                    t = time.perf_counter()
                    un = run_method(method, model, spec, split, lab_in, attr, args, ctx)
                    took = time.perf_counter() - t
                    nd, half = ndcg_ci(un, split)
                    feats = features(un, None if method == "original" else orig_rep, split)
                    cells = [cell(feats[a], lab, actx, args) if a in feats else "—"
                             for a in ADVERSARIES for lab in (lab_in, lab_out)]
                    line = (f"| {name} | {mname} | {attr} | {method} | {nd:.4f} ± {half:.4f} | "
                            + " | ".join(cells) + " |")
                    lines.append(line)
                    print(line, flush=True)
                    print(f"  {method}: unlearn {took:.0f}s, row {time.perf_counter() - t:.0f}s",
                          file=sys.stderr, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


def targets_of(split, args) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    targets = {"gender": attribute_codes(split.train, "gender")[0]}
    if "age-bucket" in args.attributes.split(","):
        targets["age-bucket"] = age_codes(split.train.user_attributes)
    return {k: v for k, v in targets.items() if k in args.attributes.split(",")}


def late_main(args) -> None:  # type: ignore[no-untyped-def]
    """Users added after unlearning: train without them, unlearn, fold them in, attack them."""
    from types import SimpleNamespace

    head = (f"attribute_unlearning --late {args.late}: epochs={args.epochs} steps={args.steps} "
            f"folds={args.folds} repeats={args.repeats} seen={args.seen} "
            f"panel={','.join(ATTACKERS)}")
    lines = [head, "", "| dataset | model | attribute | method | late users | NDCG@20 late |"
             " rep late | lists late | rep in (trained, seen) |", "|" + "---|" * 9]
    print("\n".join(lines), flush=True)
    torch.set_num_threads(2)
    ctx = RunContext(seed=0)
    for name in args.datasets.split(","):
        split = split_dataset(load_dataset(name, data_dir=args.data_dir), seed=0)
        for attr, codes in targets_of(split, args).items():
            late = seen_mask(codes, args.late, ctx.child(f"{name}-{attr}-late"))
            late_users = np.flatnonzero(late)
            core = SimpleNamespace(
                train=split.train.subset(~split.train.users_mask(late_users)),
                valid=split.valid.subset(~split.valid.users_mask(late_users)),
                test=split.test.subset(~split.test.users_mask(late_users)))
            trained = np.where(late, -1, codes)
            seen = seen_mask(trained, args.seen, ctx.child(f"{name}-{attr}"))
            lab_in, lab_late = np.where(seen, codes, -1), np.where(late, codes, -1)
            for mname in args.models.split(","):
                if mname not in FOLD_IN_MODELS:
                    print(f"  {mname}: no fold-in for this model; skipped", file=sys.stderr)
                    continue
                spec = ModelSpec(mname, {"epochs": args.epochs, "batch_size": 2048, "lr": 5e-3})
                model = spec.build()
                model.fit(core.train, core.valid, ctx.child(f"{name}-{mname}-late"))
                actx = ctx.child(f"attack-{name}-{attr}-late")
                for method in args.methods.split(","):
                    t = time.perf_counter()
                    un = run_method(method, model, spec, core, lab_in, attr, args, ctx)
                    folded = fold_in_users(un, split.train, late_users, ctx.child("late"))
                    v = evaluate_ranking(folded, split.train, split.test, ks=(20,),
                                         users=late_users).per_user["ndcg@20"]
                    rep = user_representation(folded)
                    cells = [cell(rep, lab_late, actx, args),
                             cell(topk_features(folded, split.train, 20), lab_late, actx, args),
                             cell(rep, lab_in, actx, args)]
                    line = (f"| {name} | {mname} | {attr} | {method} | {len(late_users)} | "
                            f"{v.mean():.4f} ± {1.96 * v.std(ddof=1) / np.sqrt(len(v)):.4f} | "
                            + " | ".join(cells) + " |")
                    lines.append(line)
                    print(line, flush=True)
                    print(f"  {method}: {time.perf_counter() - t:.0f}s", file=sys.stderr,
                          flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


def run_method(method, model, spec, split, labels, attr, args, ctx):  # type: ignore[no-untyped-def]
    """The model after `method` (labels < 0: users the method must not use)."""
    if method == "original":
        return model
    if method in ("u2u", "d2d"):
        sample = args.sample if method == "d2d" and split.train.n_users > 2000 else 0
        cfg = AttributeConfig(steps=args.steps, sample=sample)
        return unlearn_attribute(model.copy(), torch.from_numpy(labels), split.train, cfg,
                                 method, seed=0)
    if method == "adversarial":
        factory = AdversarialFactory(attr if attr == "gender" else "age", users=np.flatnonzero(
            labels >= 0))
        reg = factory(split.train, ctx.child("adversary"))
        if attr != "gender":  # the buckets, not the raw ages, are the classes
            reg.labels = torch.from_numpy(labels)
            reg.n_classes = int(labels.max()) + 1
        m = spec.build()
        m.fit(split.train, split.valid, ctx.child("adversarial"), regularizers=[reg])
        return m
    raise SystemExit(f"unknown method {method!r}; use original, u2u, d2d, adversarial")


if __name__ == "__main__":
    main()
