"""How many users' full-catalogue score rows the evaluator asks a model for at once.

Every evaluation pass that scores users against the whole catalogue (rankings, completeness
distances, percentiles, attack features) walks the users in batches, so memory is bounded by
`batch × n_items` scores whatever the number of users: the n_users × n_items matrix is never
built (Gowalla: 29,858 × 40,981 float32 would be 4.9 GB). Each pass keeps its own default
batch size (changing it could change float rounding inside a model's `score`);
`max_batch_users` lowers every batch to at most `n` — for tests that prove the batching, and
for very large catalogues.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_cap: int | None = None


def users_per_batch(default: int) -> int:
    """The batch size a pass with default `default` uses now (`default`, or the cap)."""
    return default if _cap is None else max(1, min(int(default), _cap))


@contextmanager
def max_batch_users(n: int | None) -> Iterator[None]:
    """Within the block, no evaluation pass scores more than `n` users at once (None: no cap)."""
    global _cap
    if n is not None and int(n) < 1:
        raise ValueError(f"max_batch_users needs n >= 1, got {n}")
    old, _cap = _cap, None if n is None else int(n)
    try:
        yield
    finally:
        _cap = old
