"""Why the sharded methods' utility loss differs from CURE4Rec's: the same models, read
under the suite's protocol and under the paper's.

    nice -n 10 python benchmarks/utility_protocol.py                    # BPR, seed 0
    nice -n 10 python benchmarks/utility_protocol.py --model wmf --selection valid
    python benchmarks/utility_protocol.py --records docs/leaderboard/records   # no training

ML-100K (80/10/10, split seed 0), K = 10 shards, the CURE4Rec recipe budgets. Per forget
strategy (5% of users, forget seed 0) every method learns on the train set and unlearns the
request (the served model is the unlearned one, as in the leaderboard); a plain retrain on
the retained data is the reference. Relative NDCG@20 loss = 1 − NDCG / NDCG_retrain under
three readings of the *same* question:

- `suite`: the served (aggregated) model, user-mean NDCG@20 over retained test users, IDCG
  truncated at min(|G_u|, 20), early stopping on the validation split: what the leaderboard
  reports.
- `paper-eval`: CURE4Rec's evaluation of the same models (../shared/reference/cure4rec.md
  §4.1): each shard's sub-model ranks only its own users, the reported NDCG is the
  unweighted mean over shards of the per-shard user-mean, and for WMF / BPR IDCG is *not*
  truncated (Σ_{j ≤ |G_u|} 1/log2(j+1); their LightGCN script truncates it, and so does this
  reading for LightGCN). The retrain: user-mean, same IDCG. Not reproduced: their LightGCN
  scores with the layer-0 (ego) embeddings; here the served, propagated ones.
- `paper-eval+test-selection` (with `--selection both|test`): the same evaluation of models
  whose early stopping watched the *test* split instead of the validation split, as
  CURE4Rec's training loop does (each shard on its own users' test rows).

`--records DIR` trains nothing: it reads run records (the committed leaderboard's) and prints
the suite's relative loss of every sharded method × model × strategy per seed against the
`[retrain]` reference row of the same seed, mean and 95% Student-t CI over seeds, beside
CURE4Rec's published loss and the ratio suite / paper.

Rankings exclude the user's training items (the retained data). NDCG here is computed by
this script from the models' scores (top-20 by `torch.topk`); its `suite` reading is checked
against `cure4rec.metrics.ranking.evaluate_ranking` and printed beside it.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.base import make_method
from cure4rec.methods.retrain import fit_fresh
from cure4rec.methods.sharded import ShardedRecommender
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

#: CURE4Rec recipe budgets (recipes/cure4rec/_base.yaml)
MODELS = {"wmf": {"dim": 64, "epochs": 30, "patience": 5, "reg": 20.0, "alpha": 2.0,
                  "threads": 1},
          "bpr": {"dim": 64, "epochs": 100, "batch_size": 4096, "lr": 0.005, "patience": 5},
          "lightgcn": {"dim": 64, "layers": 3, "epochs": 100, "batch_size": 4096, "lr": 0.005,
                       "patience": 5}}
METHODS = {"sisa": {"shards": 10}, "receraser": {"shards": 10}, "ultrare": {"shards": 10}}
#: CURE4Rec's relative NDCG@20 loss, ML-100K (§6.3 of the reference notes): C / R / E
PAPER_NDCG = {
    "wmf": {"retrain": (0.3187, 0.2872, 0.3091), "sisa": (0.2096, 0.2092, 0.2041),
            "receraser": (0.2285, 0.2208, 0.2109), "ultrare": (0.2303, 0.2354, 0.2149)},
    "bpr": {"retrain": (0.3111, 0.3003, 0.3043), "sisa": (0.2244, 0.2324, 0.2298),
            "receraser": (0.2614, 0.2615, 0.2694), "ultrare": (0.2708, 0.2764, 0.2743)},
    "lightgcn": {"retrain": (0.3175, 0.3121, 0.3101), "sisa": (0.1802, 0.1932, 0.1964),
                 "receraser": (0.2856, 0.2905, 0.2886), "ultrare": (0.2952, 0.3069, 0.3063)},
}
STRATEGIES = ("core", "random", "edge")


def user_ndcg(model: Any, users: np.ndarray, history: Any, test: Any, k: int = 20,
              truncated: bool = True) -> np.ndarray:
    """Per-user NDCG@k of `model` for `users` (each must have test rows): full ranking
    with the user's `history` items excluded; IDCG over min(|G_u|, k) or all |G_u| items."""
    out = np.empty(len(users))
    hist, truth_csr = history.csr(), test.csr()  # per-user rows without scanning the data
    for start in range(0, len(users), 256):
        batch = users[start:start + 256]
        with torch.no_grad():
            s = model.score(batch).float().clone()
        for r, u in enumerate(batch):
            s[r, torch.as_tensor(hist[u].indices, dtype=torch.long)] = -torch.inf
        top = torch.topk(s, k, dim=1).indices.numpy()
        for r, u in enumerate(batch):
            truth = truth_csr[u].indices
            hit = np.isin(top[r], truth)
            dcg = float((hit / np.log2(np.arange(2, k + 2))).sum())
            m = min(len(truth), k) if truncated else len(truth)
            idcg = float((1.0 / np.log2(np.arange(2, m + 2))).sum())
            out[start + r] = dcg / idcg
    return out


def readings(model: Any, retain: Any, test: Any, paper_truncated: bool = False
             ) -> dict[str, float]:
    """suite (served, truncated, user-mean) and paper-eval (own shard, IDCG truncated only
    if `paper_truncated`, mean over shards) NDCG@20 of `model`."""
    users = np.unique(test.user)
    out = {"suite": float(user_ndcg(model, users, retain, test).mean())}
    if isinstance(model, ShardedRecommender):
        per_shard = []
        for j, sub in enumerate(model.models):
            mine = users[model.user_shard[users] == j]
            if len(mine):
                per_shard.append(user_ndcg(sub, mine, retain, test,
                                           truncated=paper_truncated).mean())
        out["paper"] = float(np.mean(per_shard))
    else:
        out["paper"] = float(user_ndcg(model, users, retain, test,
                                       truncated=paper_truncated).mean())
    return out


def from_records(folder: Path, dataset: str = "ml-100k") -> None:
    """The suite's relative NDCG@20 loss from the run records of `dataset` (CURE4Rec's
    ML-100K figures are the comparison), with CIs over seeds."""
    from cure4rec.runner.records import find_records, load_records

    recs = load_records(find_records(folder))
    ndcg: dict[tuple[str, str, str, int], float] = {}
    for r in recs:
        if (r.get("status") == "error" or r["kind"] not in ("method", "retrain")
                or r["dataset"]["name"] != dataset):
            continue
        c = r["cell"]
        name = "retrain-ref" if r["kind"] == "retrain" else c["method"]["name"]
        extra = {k: v for k, v in sorted(c["method"].get("config", {}).items())
                 if k != "shards"}
        if extra and r["kind"] == "method":  # a variant (e.g. receraser serve=own-shard)
            name += " (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
        ndcg[(c["model"]["name"], name, c["forget"]["strategy"], c["seed"])] = \
            r["metrics"]["utility.ndcg@20"]
    n = sum(r["dataset"]["name"] == dataset for r in recs)
    print(f"{n} {dataset} records in {folder}; relative NDCG@20 loss 1 − NDCG/NDCG_retrain per "
          "seed (the [retrain] reference of the same seed), mean [95% t-CI over seeds]")
    print("| model | method | set | n | suite loss [95% CI] | CURE4Rec | suite / paper |")
    print("|---|---|---|--:|---|--:|--:|")
    variants = sorted({n for (_, n, _, _) in ndcg if " (" in n})
    for model in MODELS:
        for name in ("retrain", *METHODS, *variants):
            for i, strategy in enumerate(STRATEGIES):
                seeds = sorted(s for (m, n, st, s) in ndcg
                               if (m, n, st) == (model, name, strategy)
                               and (m, "retrain-ref", st, s) in ndcg)
                if not seeds:
                    continue
                loss = np.array([1 - ndcg[(model, name, strategy, s)]
                                 / ndcg[(model, "retrain-ref", strategy, s)] for s in seeds])
                half = (float(stats.t.ppf(0.975, len(loss) - 1) * loss.std(ddof=1)
                              / math.sqrt(len(loss))) if len(loss) > 1 else math.nan)
                pub, base = PAPER_NDCG[model], name.split(" (")[0]
                paper = 1 - pub[base][i] / pub["retrain"][i] if base in pub else math.nan
                ratio = loss.mean() / paper if base in pub and paper > 0 else math.nan
                ci = ("" if math.isnan(half)
                      else f" [{loss.mean() - half:.1%}, {loss.mean() + half:.1%}]")
                print(f"| {model} | {name} | {strategy} | {len(loss)} | {loss.mean():.1%}{ci} | "
                      f"{'–' if math.isnan(paper) else f'{paper:.1%}'} | "
                      f"{'–' if math.isnan(ratio) else f'{ratio:.2f}'} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/datasets")
    ap.add_argument("--model", default="bpr", choices=sorted(MODELS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    ap.add_argument("--selection", default="both", choices=("valid", "test", "both"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--records", type=Path, help="read run records instead of training")
    args = ap.parse_args()
    if args.records:
        from_records(args.records)
        return
    t0 = time.perf_counter()
    split = split_dataset(load_dataset("ml-100k", data_dir=args.data_dir), seed=0)
    spec = ModelSpec(args.model, MODELS[args.model])
    selections = ["valid", "test"] if args.selection == "both" else [args.selection]
    rows: list[tuple[str, str, str, float, float, float, float]] = []
    for strategy in args.strategies:
        fs = make_forget_split(split, strategy=strategy, fraction=0.05, seed=0)
        for sel in selections:
            ctx = RunContext(seed=args.seed)
            watch_learn = split.valid if sel == "valid" else split.test
            watch_retain = fs.valid if sel == "valid" else fs.test
            oracle = fit_fresh(make_method("retrain", spec), fs.retain, watch_retain,
                               ctx.child("retrain-learn").child("model"))
            trunc = args.model == "lightgcn"
            base = readings(oracle, fs.retain, fs.test, trunc)
            check = evaluate_ranking(oracle, history=fs.retain, test=fs.test,
                                     ks=(20,)).mean("ndcg@20")
            print(f"{strategy} select={sel} retrain: suite {base['suite']:.4f} "
                  f"(evaluate_ranking {check:.4f}), paper-eval {base['paper']:.4f}", flush=True)
            for name in args.methods:
                m = make_method(name, spec, METHODS[name])
                state = m.learn(split.train, ctx, watch_learn)
                state.valid = watch_retain
                served = m.unlearn(state, fs.request, ctx).model
                got = readings(served, fs.retain, fs.test, trunc)
                rows.append((strategy, sel, name, got["suite"], base["suite"], got["paper"],
                             base["paper"]))
                print(f"{strategy} select={sel} {name:9s}: suite {got['suite']:.4f} "
                      f"(loss {1 - got['suite'] / base['suite']:.1%}), paper-eval "
                      f"{got['paper']:.4f} (loss {1 - got['paper'] / base['paper']:.1%})",
                      flush=True)
    print(f"\nML-100K {args.model}, seed {args.seed}, relative NDCG@20 loss vs retrain; "
          f"wall {time.perf_counter() - t0:.0f} s")
    print("| method | set | suite (valid sel.) | paper-eval (valid sel.) | "
          "paper-eval + test sel. | CURE4Rec published |")
    print("|---|---|---|---|---|---|")
    for name in args.methods:
        for i, strategy in enumerate(STRATEGIES):
            if strategy not in args.strategies:
                continue
            pub = PAPER_NDCG[args.model]
            paper = 1 - pub[name][i] / pub["retrain"][i]
            cell = {sel: (s, sb, p, pb) for st, sel, n, s, sb, p, pb in rows
                    if st == strategy and n == name}

            def fmt(sel: str, paper_eval: bool) -> str:
                if sel not in cell:  # noqa: B023
                    return "–"
                s, sb, p, pb = cell[sel]  # noqa: B023
                return f"{1 - p / pb:.1%}" if paper_eval else f"{1 - s / sb:.1%}"

            print(f"| {name} | {strategy} | {fmt('valid', False)} | {fmt('valid', True)} | "
                  f"{fmt('test', True)} | {paper:.1%} |")


if __name__ == "__main__":
    main()
