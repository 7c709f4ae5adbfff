"""Results of the evaluator's per-model passes, computed once per model and input.

A method cell's evaluation scores the same fixed models again and again: the original and
the N retrain references are the same objects for every method cell of a group (same forget
split, model, seed), and within one cell several metrics read the same per-pair statistics
(the calibrated score in its user and pair units, the forgotten-rank diagnostics, the
interaction and unlearning attacks). Each such pass is a full-catalogue scoring of the
forgotten users (ADM: 115,082 items per row). `PassMemo` computes each (what, model) once:

- results of the group's fixed models (`keep`) go to `shared`, the group's evaluator cache
  reused by every method cell of the split, so the next cell reads them;
- results of any other model (the unlearned one) live for this cell only.

Every memoised function is deterministic in (model, input), so a metric is bit for bit the
one computed without the memo (tested). A shared entry holds a weak reference to its model:
it never keeps a model alive (a sharded method's per-cell ensemble is hundreds of MB), and an
entry whose model is gone is never read for a new object that got the same `id` (such
entries are dropped when the next one is stored). A tag names the input (which pairs, which history, which
attacker); the same tag must mean the same computation on the same split — the shared dict
is one split's (`evaluate_cell`'s `cache`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


class PassMemo:
    """`get(tag, model, compute)`: `compute()` once per (tag, model) (see the module doc)."""

    def __init__(self, shared: dict[Any, Any] | None = None, keep: Iterable[object] = ()
                 ) -> None:
        self.shared: dict[Any, Any] = {} if shared is None else shared
        self.local: dict[Any, Any] = {}
        self._keep = {id(m) for m in keep}

    def get(self, tag: Hashable, model: object, compute: Callable[[], T]) -> T:
        key = ("pass-memo", tag, id(model))
        try:
            ref = weakref.ref(model)
        except TypeError:  # not weak-referenceable: this cell only
            ref = None
        if ref is None or id(model) not in self._keep:
            if key not in self.local:  # the cell's own dict: its models outlive it
                self.local[key] = compute()
            return self.local[key]  # type: ignore[no-any-return]
        hit = self.shared.get(key)
        if hit is not None and hit[0]() is model:
            return hit[1]  # type: ignore[no-any-return]
        value = compute()
        for k in [k for k, v in self.shared.items()  # entries of models that are gone
                  if isinstance(k, tuple) and k[:1] == ("pass-memo",) and v[0]() is None]:
            del self.shared[k]
        self.shared[key] = (ref, value)
        return value


def memo_or_new(memo: PassMemo | None) -> PassMemo:
    """`memo`, or a fresh one that shares nothing (the functions' default)."""
    return PassMemo() if memo is None else memo
