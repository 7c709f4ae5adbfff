"""Item coverage of a forget split's test pairs: why user-sharded SISA collapses on ADM.

    python benchmarks/item_coverage.py --data-dir ../shared/datasets
    python benchmarks/item_coverage.py --data-dir ... --dataset ml-1m-cure4rec --strategy random

Prints the share of the retained users' test pairs whose item has any retained training
pair (an MF model cannot recommend an item it never saw: its factor stays at its
initialisation), and the share whose item occurs in the user's own shard under a seeded
random K-way user partition (what a SISA sub-model serving that user has seen; SISA's own
partition is another random draw of the same kind).
"""

from __future__ import annotations

import argparse

import numpy as np

from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dataset", default="adm-cure4rec")
    p.add_argument("--strategy", default="core")
    p.add_argument("--fraction", type=float, default=0.05)
    p.add_argument("--shards", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    ds = load_dataset(args.dataset, data_dir=args.data_dir)
    fs = make_forget_split(split_dataset(ds, seed=args.seed, protocol="presplit"),
                           args.strategy, args.fraction, seed=args.seed)
    tr, te = fs.retain, fs.test
    tu, ti = np.asarray(tr.user), np.asarray(tr.item)
    eu, ei = np.asarray(te.user), np.asarray(te.item)
    deg = np.bincount(ti, minlength=tr.n_items)
    shard = np.random.default_rng(args.seed).integers(0, args.shards, tr.n_users)
    seen = np.zeros((args.shards, tr.n_items), dtype=bool)
    seen[shard[tu], ti] = True
    print(f"{args.dataset} {args.strategy} {args.fraction:g}: {len(tu):,} retained train pairs "
          f"of {len(np.unique(tu)):,} users, {len(eu):,} test pairs")
    print(f"test pairs whose item has a retained train pair: {np.mean(deg[ei] > 0):.4f}")
    print(f"... in the user's own shard (random {args.shards}-way user partition): "
          f"{np.mean(seen[shard[eu], ei]):.4f}")
    print(f"median retained train degree of the test pairs' items: {np.median(deg[ei]):g}")


if __name__ == "__main__":
    main()
