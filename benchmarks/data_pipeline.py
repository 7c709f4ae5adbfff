"""Data pipeline speed: cure4rec vs RecBole 1.2.1 on 1,000,000 synthetic interactions.

Both read the same RecBole atomic file, apply a 5-core filter and split 80/10/10 per user;
cure4rec also selects a core-5% forget set and builds its manifest hash.
Run: python benchmarks/data_pipeline.py [--interactions N]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.data.synthetic import SyntheticConfig, generate
from cure4rec.forget.select import make_forget_split

NAME = "synthbench"  # not ml-*: RecBole would merge its per-dataset yaml


def write_atomic(root: Path, n: int) -> Path:
    """Generate ML-1M-scale synthetic data and write `<root>/<NAME>/<NAME>.inter`."""
    raw = generate(SyntheticConfig(n_users=6040, n_items=3706, n_interactions=n, seed=0))
    d = root / NAME
    d.mkdir(parents=True)
    df = raw.inter.rename(columns={"user": "user_id:token", "item": "item_id:token",
                                   "rating": "rating:float", "timestamp": "timestamp:float"})
    df.to_csv(d / f"{NAME}.inter", sep="\t", index=False)
    return d


def run_cure4rec(d: Path) -> float:
    """Read + 5-core + split + forget selection; seconds."""
    t = time.perf_counter()
    ds = load_dataset(d, k_core=5)
    split = split_dataset(ds, seed=0)
    fs = make_forget_split(split, "core", 0.05, seed=0)
    elapsed = time.perf_counter() - t
    print(f"cure4rec: {len(ds.interactions)} interactions after 5-core, "
          f"train {len(split.train)}, forget {len(fs.forget)}")
    return elapsed


def run_recbole(root: Path) -> float:
    """RecBole `create_dataset` + `data_preparation` on the same file; seconds."""
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import init_seed

    t = time.perf_counter()
    config = Config(model="BPR", dataset=NAME, config_dict={
        "data_path": str(root), "checkpoint_dir": str(root / "ckpt"),
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "user_inter_num_interval": "[5,inf)", "item_inter_num_interval": "[5,inf)",
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "order": "RO", "group_by": "user",
                      "mode": "full"},
        "device": "cpu", "show_progress": False, "state": "WARNING", "seed": 0,
        "reproducibility": True})
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train, _, _ = data_preparation(config, dataset)
    elapsed = time.perf_counter() - t
    print(f"RecBole: {dataset.inter_num} interactions after 5-core, "
          f"train {len(train.dataset)}")
    return elapsed


def main() -> None:
    """Generate, write, time both pipelines, print the ratio."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--interactions", type=int, default=1_000_000)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        d = write_atomic(root, args.interactions)
        size = os.path.getsize(d / f"{NAME}.inter") / 1e6
        print(f"{args.interactions} interactions, {size:.1f} MB atomic file")
        ours = run_cure4rec(d)
        theirs = run_recbole(root)
    print(f"cure4rec {ours:.2f} s | RecBole {theirs:.2f} s | speed-up {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
