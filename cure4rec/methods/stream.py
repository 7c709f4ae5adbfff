"""Request streams: split one forget request into several small consecutive ones."""

from __future__ import annotations

import numpy as np

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest


def split_request(request: ForgetRequest, n: int, ctx: RunContext) -> list[ForgetRequest]:
    """`n` disjoint requests covering `request` (users or rows dealt by a seeded permutation).

    A users request is split by user, so each small request deletes whole users; other
    kinds are split by interaction. Apply them in order with `unlearn_stream`.
    """
    if request.kind == "attribute":
        raise ConfigError("an attribute request cannot be split into a stream")
    units = request.users if request.kind == "users" else np.arange(len(request.forget))
    if not 1 <= n <= len(units):
        raise ConfigError(f"cannot split a request of {len(units)} units into {n} requests")
    parts = np.array_split(ctx.rng().permutation(units), n)
    out = []
    for k, part in enumerate(parts):
        if request.kind == "users":
            sub = request.forget.subset(request.forget.users_mask(part))
            users = part
        else:
            sub = request.forget.subset(np.sort(part))
            users = np.unique(sub.user)
        sid = f"{request.split_id}/part{k}of{n}" if request.split_id else ""
        out.append(ForgetRequest(request.kind, sub, users, split_id=sid))
    return out
