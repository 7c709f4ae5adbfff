"""CPU time of `forget_percentiles` (the calibrated completeness' per-pair percentiles) on an
ML-1M-core-sized input: the one-sort-per-row path against the direct full-row comparisons.

    python benchmarks/percentiles_speed.py [--users 302] [--pairs 570] [--items 3416]

Random float32-valued scores (finite: the sorted path). The direct path is forced by one
+inf in a cell the pairs do not use, which takes the comparison code on the same data.
Prints both CPU times and their ratio, and whether the values agree away from that row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.calibrated import forget_percentiles


class Fixed:
    def __init__(self, s: np.ndarray) -> None:
        self.s = torch.from_numpy(s)

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.s[torch.as_tensor(np.asarray(users, dtype=np.int64))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=302)
    p.add_argument("--pairs", type=int, default=570, help="forgotten pairs per user")
    p.add_argument("--items", type=int, default=3416)
    a = p.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    s = rng.standard_normal((a.users, a.items)).astype(np.float32).astype(np.float64)
    user = np.repeat(np.arange(a.users), a.pairs)
    item = np.concatenate([rng.choice(a.items - 1, a.pairs, replace=False) + 1
                           for _ in range(a.users)])
    pairs = Interactions(user=user, item=item, n_users=a.users, n_items=a.items)
    t = time.process_time()
    fast = forget_percentiles(Fixed(s), pairs)
    t_fast = time.process_time() - t
    s2 = s.copy()
    s2[0, 0] = np.inf  # item 0 is no pair's item: forces the direct path
    t = time.process_time()
    direct = forget_percentiles(Fixed(s2), pairs)
    t_direct = time.process_time() - t
    same = np.array_equal(fast[user != 0], direct[user != 0])
    print(f"{len(user):,} pairs x {a.items:,} items: sorted path {t_fast:.2f} CPU s, direct "
          f"path {t_direct:.2f} CPU s, ratio {t_direct / t_fast:.1f}x; values equal off row 0: "
          f"{same}")


if __name__ == "__main__":
    main()
