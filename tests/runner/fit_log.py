"""A cell function that logs every model fit of the process it runs in (for pool tests).

`counting_cell` wraps `TorchRecommender.fit` (once per worker process) so that each fit
appends `[context path, key]` (key: model config, data, derived seed, keywords) as one
JSON line to the file named by `CURE4REC_FIT_LOG`, then runs the real cell.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.models.torch_base import TorchRecommender
from cure4rec.runner.pipeline import run_cell


def data_key(x: Interactions | None) -> str:
    """Short hash of the (user, item) pairs of `x` ("-" for None)."""
    if x is None:
        return "-"
    h = hashlib.sha256()
    for a in (x.user, x.item):
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def fit_key(model: TorchRecommender, train: Interactions, valid: Interactions | None,
            ctx: RunContext, kw: dict[str, Any]) -> str:
    """What decides a fit's result: model and config, data, derived seed, keywords."""
    init = kw.get("init_from")
    extra = {k: repr(v) for k, v in kw.items() if k not in ("init_from", "regularizers")}
    return json.dumps([model.name, repr(model.config), data_key(train), data_key(valid),
                       ctx.derived_seed(), sorted(extra.items()),
                       None if init is None else id(init)])


def _install() -> None:
    if getattr(TorchRecommender.fit, "_logged", False):
        return
    real = TorchRecommender.fit

    def logged(self: TorchRecommender, train: Interactions, valid: Interactions | None,
               ctx: RunContext, **kw: Any) -> Any:
        with open(os.environ["CURE4REC_FIT_LOG"], "a") as fh:
            fh.write(json.dumps(["/".join(ctx.path), fit_key(self, train, valid, ctx, kw)])
                     + "\n")
        return real(self, train, valid, ctx, **kw)

    logged._logged = True  # type: ignore[attr-defined]
    TorchRecommender.fit = logged  # type: ignore[method-assign]


def counting_cell(payload: dict[str, Any]) -> dict[str, Any]:
    """`run_cell`, with every fit of this process logged."""
    _install()
    return run_cell(payload)
