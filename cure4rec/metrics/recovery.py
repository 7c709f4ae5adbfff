"""Functional recovery test: unlearn injected shilling users and measure the attack's undoing.

Protocol (IFRU-style functional test, methods.md §5.4.4): `n_targets` unpopular items
(seeded, below-median train degree) are promoted by `n_fake` bandwagon profiles — each fake
user interacts with every target plus `n_filler` items drawn from the 50 most popular. The
method learns on train ∪ fake, then unlearns exactly the fake users (a ``users`` request); a
model retrained on the real train set is the reference. Target exposure = share of real
users whose top-k list (own train items excluded) holds ≥1 target item.
Recovery = (exposure_orig − exposure_unlearned) / (exposure_orig − exposure_retrain):
1 = the attack is fully undone, 0 = not at all; NaN when the attack lifted the top-k
exposure by fewer than MIN_LIFT_USERS users (a ratio of noise — on ML-100K/BPR with 50
fakes no target reaches real users' top-20 lists). `recovery_rank` is the same ratio on the
targets' mean percentile rank over real users (continuous, so it moves without top-k hits).
Stronger attacks were measured on ML-100K/BPR and did not help (10% fake users, 3 targets,
50 fillers ≈ the median profile, targets up to the 90th degree percentile: top-20 exposure
≤ 0.002 in the original; docs/metrics.md), so the defaults stay and `recovery_rank` is the
figure to read there (retrain 0.89–0.97, a no-op exactly 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.forget.request import ForgetRequest
from cure4rec.metrics.ranking import evaluate_ranking, top_k
from cure4rec.models.base import ModelSpec

MIN_LIFT_USERS = 5


def _respace(x: Interactions, n_users: int, tokens: np.ndarray,
             attrs: pd.DataFrame | None) -> Interactions:
    return Interactions(x.user, x.item, n_users, x.n_items, x.rating, x.timestamp, tokens,
                        x.item_tokens, attrs, x.item_attributes, x.name)


def inject_fake_users(train: Interactions, n_fake: int, n_targets: int, n_filler: int,
                      rng: np.random.Generator) -> tuple[Interactions, np.ndarray, np.ndarray]:
    """train ∪ fake profiles in a grown user space; returns (data, fake users, targets)."""
    deg = train.item_degree()
    unpopular = np.flatnonzero((deg <= np.median(deg)) & (deg > 0))
    if len(unpopular) < n_targets or min(50, train.n_items - n_targets) < n_filler:
        raise ConfigError(f"cannot pick {n_targets} targets and {n_filler} fillers from "
                          f"{train.n_items} items")
    targets = np.sort(rng.choice(unpopular, n_targets, replace=False))
    # fillers: the 50 most popular items other than the targets (an item at the median
    # degree can be both; a fake must not interact with it twice)
    by_degree = np.argsort(-deg, kind="stable")
    popular = by_degree[~np.isin(by_degree, targets)][:50]
    fake = np.arange(train.n_users, train.n_users + n_fake)
    fillers = np.argsort(rng.random((n_fake, len(popular))), axis=1)[:, :n_filler]
    items = np.hstack([np.tile(targets, (n_fake, 1)), popular[fillers]])
    users = np.repeat(fake, items.shape[1])
    tokens = np.concatenate([train.user_tokens, np.array([f"fake{i}" for i in range(n_fake)],
                                                         dtype=object)])
    attrs = None if train.user_attributes is None else train.user_attributes.reindex(
        range(train.n_users + n_fake)).reset_index(drop=True)
    n = train.n_users + n_fake
    big = _respace(train, n, tokens, attrs)
    extra = Interactions(users, items.ravel(), n, train.n_items, None, None, tokens,
                         train.item_tokens, attrs, train.item_attributes, "fake")
    both = Interactions(np.r_[big.user, extra.user], np.r_[big.item, extra.item], n,
                        train.n_items, None, None, tokens, train.item_tokens, attrs,
                        train.item_attributes, "train+fake")
    return both, fake, targets


def target_exposure(model: object, users: np.ndarray, history: Interactions,
                    targets: np.ndarray, k: int = 20) -> float:
    """Share of `users` with ≥1 target item in their top-k."""
    rec = top_k(model, users, k, history=history).numpy()
    return float(np.isin(rec, targets).any(axis=1).mean()) if len(users) else float("nan")


def target_rank(model: object, users: np.ndarray, history: Interactions,
                targets: np.ndarray) -> float:
    """Mean percentile (1 = top) of the target items among all items, over `users` × targets.

    A continuous exposure: it moves even when no target reaches a top-k list.
    """
    from cure4rec.metrics.completeness import pair_percentiles

    pairs = history.with_arrays(np.repeat(users, len(targets)), np.tile(targets, len(users)))
    return float(pair_percentiles(model, pairs).mean()) if len(users) else float("nan")


def _recovery(before: float, after: float, reference: float, min_lift: float) -> float:
    """(before − after) / (before − reference); NaN unless the attack lifted by > `min_lift`."""
    lift = before - reference
    return (before - after) / lift if lift > min_lift else float("nan")


def _retrain(spec: ModelSpec, real: Interactions, valid: Interactions, ctx: RunContext) -> object:
    model = spec.build()
    model.fit(real, valid, ctx.child("retrain"))
    return model


def _setting(split: Any, ctx: RunContext, n_fake: int, n_targets: int, n_filler: int
             ) -> tuple[Interactions, np.ndarray, np.ndarray, list[Interactions]]:
    """(train ∪ fakes, fake users, targets, [real train, valid, test] in the grown space)."""
    data, fake, targets = inject_fake_users(split.train, n_fake, n_targets, n_filler,
                                            ctx.child("inject").rng())
    sets = [_respace(x, data.n_users, data.user_tokens, data.user_attributes)
            for x in (split.train, split.valid, split.test)]
    return data, fake, targets, sets


def recovery_reference(model_spec: ModelSpec, split: Any, ctx: RunContext, n_fake: int = 50,
                       n_targets: int = 5, n_filler: int = 20) -> object:
    """The retrained model `functional_recovery` fits (share it across methods)."""
    ctx = ctx.child("functional-recovery")
    real, valid, _ = _setting(split, ctx, n_fake, n_targets, n_filler)[3]
    return _retrain(model_spec, real, valid, ctx)


def functional_recovery(method: Any, model_spec: ModelSpec, split: Any, ctx: RunContext,
                        n_fake: int = 50, n_targets: int = 5, n_filler: int = 20,
                        k: int = 20, reference: object | None = None) -> dict[str, float]:
    """Exposure of the target items before / after unlearning the fakes, vs a retrain.

    `reference`: the model `recovery_reference` returns for the same arguments, so that
    several methods share one retrain (identical to fitting it here).
    """
    ctx = ctx.child("functional-recovery")
    data, fake, targets, (real, valid, test) = _setting(split, ctx, n_fake, n_targets, n_filler)
    state = method.learn(data, ctx.child("learn"), valid)
    request = ForgetRequest("users", data.subset(data.users_mask(fake), "forget"), fake)
    unlearned = method.unlearn(state, request, ctx.child("unlearn")).model
    retrain = reference if reference is not None else _retrain(model_spec, real, valid, ctx)
    users = real.active_users()
    out: dict[str, float] = {}
    for name, m in (("original", state.model), ("unlearned", unlearned), ("retrain", retrain)):
        out[f"exposure.{name}"] = target_exposure(m, users, real, targets, k)
        out[f"rank.{name}"] = target_rank(m, users, real, targets)
        out[f"ndcg@{k}.{name}"] = evaluate_ranking(m, real, test, (k,)).mean(f"ndcg@{k}")
    # top-k exposure: a lift of fewer than MIN_LIFT_USERS users is noise, not an attack
    out["recovery"] = _recovery(out["exposure.original"], out["exposure.unlearned"],
                                out["exposure.retrain"], MIN_LIFT_USERS / max(len(users), 1))
    out["recovery_rank"] = _recovery(out["rank.original"], out["rank.unlearned"],
                                     out["rank.retrain"], 0.0)
    return out


def recovery_metrics(method: Any, model_spec: ModelSpec, split: Any, ctx: RunContext,
                     reference: object | None = None, k: int = 20) -> dict[str, float]:
    """`functional_recovery` as record keys: ``completeness.recovery`` and its exposures."""
    r = functional_recovery(method, model_spec, split, ctx, k=k, reference=reference)
    out = {"completeness.recovery": r["recovery"], "completeness.recovery_rank": r["recovery_rank"]}
    for name in ("unlearned", "original", "retrain"):
        suffix = "" if name == "unlearned" else f".{name}"
        for stat, key in (("exposure", "exposure"), ("rank", "target_rank"),
                          (f"ndcg@{k}", f"ndcg@{k}")):
            out[f"completeness.recovery_{key}{suffix}"] = r[f"{stat}.{name}"]
    return out
