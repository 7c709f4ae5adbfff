"""Small interaction sets for the model tests."""

from __future__ import annotations

import numpy as np

from cure4rec.data.interactions import Interactions


def random_split(n_users: int = 40, n_items: int = 30, n: int = 400,
                 seed: int = 0) -> tuple[Interactions, Interactions]:
    """A random train set and a disjoint validation set in the same index space."""
    rng = np.random.default_rng(seed)
    keys = rng.choice(n_users * n_items, size=n, replace=False)
    ds = Interactions.from_pairs(keys // n_items, keys % n_items, n_users, n_items)
    cut = int(0.8 * n)
    return ds.subset(np.arange(cut)), ds.subset(np.arange(cut, n))


def tiny_split(path: str) -> tuple[Interactions, Interactions, Interactions]:
    """ml-100k-tiny read with pandas (bad lines skipped), split 80/10/10 at random."""
    import pandas as pd

    df = pd.read_csv(path, sep="\t", on_bad_lines="skip")
    u = pd.factorize(df.iloc[:, 0])[0]
    i = pd.factorize(df.iloc[:, 1])[0]
    ds = Interactions.from_pairs(u, i)
    perm = np.random.default_rng(0).permutation(len(ds))
    a, b = int(0.8 * len(ds)), int(0.9 * len(ds))
    return ds.subset(perm[:a]), ds.subset(perm[a:b]), ds.subset(perm[b:])
