"""Why RecEraser loses far more utility than UltraRE on ADM: the aggregator or the shards?

    nice -n 5 python benchmarks/receraser_aggregation.py --data-dir ../shared/datasets
    python benchmarks/receraser_aggregation.py --data-dir ... --dataset ml-1m-cure4rec

RecEraser and UltraRE both cluster users into K balanced shards and train one sub-model per
shard; they differ in how they serve. RecEraser aggregates the shards' *embeddings*
(attention over per-shard transforms W_j e_j + b_j, trained with BPR, sub-models frozen) and
scores the aggregated user by the aggregated item; UltraRE combines the shards' *scores*
(a logistic regression over the sub-models that trained the user: under a user partition,
the user's own shard). Each method is learned once on the forget split's retained train set
(its partition computed there, so the model is the one `strict=True` would serve) with the
recipe's WMF configuration, and its sub-models are served three ways:

- as served (the method's own aggregator);
- own shard: each user scored by their own shard's sub-model alone (SISA's serving);
- the other aggregator fitted on the same frozen sub-models (RecEraser's attention on
  UltraRE's shards, UltraRE's combiner on RecEraser's shards).

Printed per partition: test NDCG@20 of the retained users (train and validation items
masked, as the evaluator), the share of test pairs whose item has a train pair in the
user's own shard, the share of users whose factor is nonzero in a shard other than their
own (what an embedding-level mix can draw on for the user side), and the learn CPU s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cure4rec.context import RunContext
from cure4rec.methods.receraser import AttentionAggregator
from cure4rec.methods.sharded import OwnShard, ShardedRecommender
from cure4rec.methods.ultrare import LogisticCombiner, trained_mask
from cure4rec.metrics.evaluator import ranking_history
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

HERE = Path(__file__).resolve().parent


def ndcg(model: Any, hist: Any, test: Any) -> float:
    return float(evaluate_ranking(model, hist, test, ks=(20,)).mean("ndcg@20"))


def main(argv: list[str] | None = None) -> None:
    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.forget.select import make_forget_split
    from cure4rec.methods.base import make_method
    from cure4rec.runner.recipe import load_recipe

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--dataset", default="adm-cure4rec")
    p.add_argument("--strategy", default="core")
    p.add_argument("--model", default="wmf")
    p.add_argument("--recipe", default=str(HERE.parent / "recipes/cure4rec/adm-seed0-wmf.yaml"))
    p.add_argument("--shards", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    cfg = {m.name: dict(m.config) for m in load_recipe(Path(a.recipe)).models}[a.model]
    ds = load_dataset(a.dataset, data_dir=a.data_dir)
    fs = make_forget_split(split_dataset(ds, seed=a.seed, protocol="presplit"), a.strategy,
                           0.05, seed=a.seed)
    tr, hist = fs.retain, ranking_history(fs)
    print(f"{a.dataset} {a.strategy} 5% (split {fs.split_id}): {len(tr):,} retained train "
          f"pairs, {len(fs.test):,} test pairs; {a.model} {cfg}; K = {a.shards}")
    print("| partition | serving | NDCG@20 | test pairs with the item in the user's shard | "
          "users with a nonzero factor outside their shard | learn CPU s |")
    print("|---|---|--:|--:|--:|--:|")
    for name in ("receraser", "ultrare"):
        method = make_method(name, ModelSpec(a.model, cfg), {"shards": a.shards})
        ctx = RunContext(seed=a.seed, threads=1)
        c0 = time.process_time()
        state = method.learn(tr, ctx, valid=fs.valid)
        cpu = time.process_time() - c0
        rec = state.model
        assert isinstance(rec, ShardedRecommender)
        shard = rec.user_shard
        seen = np.zeros((rec.n_shards, tr.n_items), dtype=bool)
        seen[shard[tr.user], tr.item] = True
        cover = float(np.mean(seen[shard[fs.test.user], fs.test.item]))
        with torch.no_grad():
            eu = torch.stack([m.user_embeddings().cpu() for m in rec.models])  # type: ignore[attr-defined]
        nonzero = eu.abs().sum(-1) > 0                                          # [K, users]
        nonzero[torch.as_tensor(shard), torch.arange(rec.n_users)] = False
        users = np.unique(tr.user)
        outside = float(nonzero[:, torch.as_tensor(users)].any(0).float().mean())
        actx = ctx.child(f"{name}-learn").child("aggregator")
        other: Any
        if name == "receraser":
            other = ("ultrare combiner", LogisticCombiner.train(
                rec.models, tr, actx, 1, 200, 0.05, trained_mask(
                    _partition_of(rec), tr)))
        else:
            other = ("receraser attention", AttentionAggregator.train(
                rec.models, tr, actx, 50, 0.01, 1e-5))
        rows = [("as served", rec),
                ("own shard", ShardedRecommender(rec.models, shard, OwnShard())),
                (other[0], ShardedRecommender(rec.models, shard, other[1]))]
        for serving, model in rows:
            print(f"| {name} | {serving} | {ndcg(model, hist, fs.test):.4f} | {cover:.4f} | "
                  f"{outside:.4f} | {cpu:.0f} |", flush=True)


def _partition_of(rec: ShardedRecommender) -> Any:
    from cure4rec.methods.sharded import Partition

    return Partition("user", rec.user_shard, rec.n_shards)


if __name__ == "__main__":
    main()
