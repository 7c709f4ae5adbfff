"""Determinism of attribute unlearning on ML-100K: are the trained and the D2D-unlearned user
rows bit-identical across two runs with the same seed, at a fixed torch thread count, and
across thread counts? (BPR 30 epochs, D2D 500 steps, the attribute benchmark's seeds and its
seeded half of the labelled users.)

Usage: python benchmarks/attribute_determinism.py [--data-dir ../shared/datasets]
       [--threads 1,2] [--loss d2d]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from attribute_unlearning import seen_mask  # noqa: E402

from cure4rec.context import RunContext  # noqa: E402
from cure4rec.data.load import load_dataset, split_dataset  # noqa: E402
from cure4rec.fairness.embeddings import attribute_codes, user_representation  # noqa: E402
from cure4rec.methods.attribute import AttributeConfig, unlearn_attribute  # noqa: E402
from cure4rec.models.base import ModelSpec  # noqa: E402


def run(split, labels: np.ndarray, loss: str, ctx: RunContext) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    m = ModelSpec("bpr", {"epochs": 30, "batch_size": 2048, "lr": 5e-3}).build()
    m.fit(split.train, split.valid, ctx.child("ml-100k-bpr"))
    un = unlearn_attribute(m.copy(), torch.from_numpy(labels), split.train,
                           AttributeConfig(steps=500), loss, seed=0)
    return user_representation(m), user_representation(un)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", default="../shared/datasets")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--loss", default="d2d", choices=("u2u", "d2d"))
    args = p.parse_args()
    split = split_dataset(load_dataset("ml-100k", data_dir=args.data_dir), seed=0)
    codes = attribute_codes(split.train, "gender")[0]
    ctx = RunContext(seed=0)
    labels = np.where(seen_mask(codes, 0.5, ctx.child("ml-100k-gender")), codes, -1)
    first = {}
    for n in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(n)
        a, b = run(split, labels, args.loss, ctx), run(split, labels, args.loss, ctx)
        first[n] = a
        print(f"threads {n}: trained rows identical {np.array_equal(a[0], b[0])}, "
              f"{args.loss} rows identical {np.array_equal(a[1], b[1])} (max |Δ| "
              f"{np.abs(a[1] - b[1]).max():.1e})", flush=True)
    ns = sorted(first)
    for x, y in zip(ns, ns[1:]):
        (ta, ua), (tb, ub) = first[x], first[y]
        print(f"threads {x} vs {y}: trained identical {np.array_equal(ta, tb)} (max |Δ| "
              f"{np.abs(ta - tb).max():.1e}), {args.loss} identical {np.array_equal(ua, ub)} "
              f"(max |Δ| {np.abs(ua - ub).max():.1e})", flush=True)


if __name__ == "__main__":
    main()
