"""Forget-set selection on the train set: core / edge / random users, matched, items, attribute.

A strategy is a function registered by name with `@register_strategy(name)`; it returns a
`Selection` (which train rows to forget, which users the request is about). Definitions:

- `core` / `edge`: the n = max(1, floor(p * #train users)) users of highest / lowest train
  degree, ties broken by user index (so they never depend on the seed);
- `random`: n users drawn uniformly (unit "users"), or floor(p * |train|) interactions
  (unit "interactions");
- `core-matched` / `edge-matched`: users in core / edge order until their interactions reach
  a target (default: the interaction count of `random` users at the same fraction and seed);
- `category`: every train interaction with items whose `category_column` contains `category`,
  for all users or a random fraction of them (kind "items");
- `attribute`: nothing deleted; the users whose `attribute` is known (kind "attribute").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cure4rec import __version__
from cure4rec.config import config_from_dict
from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.data.split import DataSplit
from cure4rec.errors import ConfigError, DataError
from cure4rec.forget.manifest import ForgetSplit
from cure4rec.forget.request import ForgetRequest, RequestKind
from cure4rec.registry import Registry


@dataclass(frozen=True)
class ForgetOptions:
    """Strategy options beyond strategy/fraction/seed (unknown keys are ConfigErrors)."""

    unit: Literal["users", "interactions"] = "users"
    target_interactions: int | None = None
    category: str | None = None
    category_column: str = "class"
    attribute: str | None = None


@dataclass(frozen=True, eq=False)
class Selection:
    """What a strategy picked: a boolean mask over train rows and the request's users."""

    kind: RequestKind
    rows: np.ndarray
    users: np.ndarray
    attribute: str | None = None


StrategyFn = Callable[[Interactions, "float | None", RunContext, ForgetOptions], Selection]
STRATEGIES: Registry[StrategyFn] = Registry("forget strategy")
STRATEGIES.builtin_package = "cure4rec.forget"  # strategy modules (e.g. difficulty.py) self-register


def register_strategy(name: str) -> Callable[[StrategyFn], StrategyFn]:
    """Decorator adding a selection strategy under `name` (duplicates refused)."""
    return STRATEGIES.register(name)


def n_select(n: int, fraction: float | None) -> int:
    """floor(fraction * n), at least 1 (all of n when fraction is None)."""
    return n if fraction is None else max(1, int(np.floor(fraction * n + 1e-9)))


def degree_order(train: Interactions, descending: bool) -> np.ndarray:
    """Train users sorted by degree (desc. for core, asc. for edge), then by user index."""
    deg = train.user_degree()
    users = np.flatnonzero(deg)
    return users[np.lexsort((users, -deg[users] if descending else deg[users]))]


def _users_selection(train: Interactions, users: np.ndarray) -> Selection:
    return Selection("users", train.users_mask(users), np.sort(users))


def _need_fraction(fraction: float | None, strategy: str) -> float:
    if fraction is None:
        raise ConfigError(f"strategy {strategy!r} needs --fraction in (0, 1)")
    return fraction


def _users_only(opts: ForgetOptions, strategy: str) -> None:
    if opts.unit != "users":
        raise ConfigError(f"strategy {strategy!r} selects whole users; use unit='users' "
                          "(interaction-level: strategy 'random' with unit='interactions')")


def _by_degree(train: Interactions, fraction: float | None, opts: ForgetOptions,
               strategy: str, descending: bool) -> Selection:
    _users_only(opts, strategy)
    order = degree_order(train, descending)
    return _users_selection(train, order[: n_select(len(order), _need_fraction(fraction,
                                                                               strategy))])


@register_strategy("core")
def core(train: Interactions, fraction: float | None, ctx: RunContext,
         opts: ForgetOptions) -> Selection:
    """The top p% users by train degree."""
    return _by_degree(train, fraction, opts, "core", descending=True)


@register_strategy("edge")
def edge(train: Interactions, fraction: float | None, ctx: RunContext,
         opts: ForgetOptions) -> Selection:
    """The bottom p% users by train degree."""
    return _by_degree(train, fraction, opts, "edge", descending=False)


@register_strategy("random")
def random_selection(train: Interactions, fraction: float | None, ctx: RunContext,
           opts: ForgetOptions) -> Selection:
    """p% of the train users (or of the train interactions), uniformly at random."""
    fraction = _need_fraction(fraction, "random")
    rng = ctx.rng()
    if opts.unit == "interactions":
        rows = np.zeros(len(train), dtype=bool)
        rows[rng.choice(len(train), n_select(len(train), fraction), replace=False)] = True
        return Selection("interactions", rows, np.unique(train.user[rows]))
    users = train.active_users()
    return _users_selection(train, rng.choice(users, n_select(len(users), fraction),
                                              replace=False))


def _matched(train: Interactions, fraction: float | None, ctx: RunContext, opts: ForgetOptions,
             descending: bool) -> Selection:
    """Users in degree order until their interaction count first reaches the target."""
    _users_only(opts, "matched")
    target = opts.target_interactions
    if target is None:
        rand_ctx = RunContext(ctx.seed, path=(*ctx.path[:-1], "random"))
        target = int(random_selection(train, fraction, rand_ctx, opts).rows.sum())
    if target < 1:
        raise ConfigError(f"target_interactions must be >= 1, got {target}")
    order = degree_order(train, descending)
    cum = np.cumsum(train.user_degree()[order])
    n = int(np.searchsorted(cum, target)) + 1
    return _users_selection(train, order[:n])


@register_strategy("core-matched")
def core_matched(train: Interactions, fraction: float | None, ctx: RunContext,
                 opts: ForgetOptions) -> Selection:
    """Highest-degree users until the matched interaction target is reached."""
    return _matched(train, fraction, ctx, opts, descending=True)


@register_strategy("edge-matched")
def edge_matched(train: Interactions, fraction: float | None, ctx: RunContext,
                 opts: ForgetOptions) -> Selection:
    """Lowest-degree users until the matched interaction target is reached."""
    return _matched(train, fraction, ctx, opts, descending=False)


@register_strategy("category")
def category(train: Interactions, fraction: float | None, ctx: RunContext,
             opts: ForgetOptions) -> Selection:
    """Train interactions with items of a category (all users, or a random p% of them)."""
    attrs, col = train.item_attributes, opts.category_column
    if opts.category is None:
        raise ConfigError("strategy 'category' needs category=<value> (e.g. category='Action')")
    if attrs is None or col not in attrs.columns:
        have = ", ".join(attrs.columns) if attrs is not None else "none"
        raise DataError(f"the dataset has no item attribute {col!r} (item attributes: {have})")
    tokens = attrs[col].fillna("").astype(str).str.split()
    hit = np.zeros(len(attrs), dtype=bool)
    exploded = tokens.explode()
    hit[exploded.index[(exploded == opts.category).to_numpy()].unique()] = True
    rows = hit[train.item]
    users = np.unique(train.user[rows])
    if not len(users):
        raise DataError(f"no train interaction has an item with {col} = {opts.category!r}")
    if fraction is not None:
        users = np.sort(ctx.rng().choice(users, n_select(len(users), fraction), replace=False))
        rows &= train.users_mask(users)
    return Selection("items", rows, users)


@register_strategy("attribute")
def attribute(train: Interactions, fraction: float | None, ctx: RunContext,
              opts: ForgetOptions) -> Selection:
    """Attribute unlearning: no rows deleted; the train users whose attribute is known."""
    attrs, name = train.user_attributes, opts.attribute
    if name is None:
        raise ConfigError("strategy 'attribute' needs attribute=<column> (e.g. 'gender')")
    if attrs is None or name not in attrs.columns:
        have = ", ".join(attrs.columns) if attrs is not None else "none"
        raise DataError(f"the dataset has no user attribute {name!r} (user attributes: {have})")
    known = attrs[name].notna().to_numpy() & (attrs[name].fillna("").astype(str) != "").to_numpy()
    users = np.intersect1d(np.flatnonzero(known), train.active_users())
    if fraction is not None:
        users = np.sort(ctx.rng().choice(users, n_select(len(users), fraction), replace=False))
    return Selection("attribute", np.zeros(len(train), dtype=bool), users, name)


def check_fraction(fraction: Any, where: str = "fraction") -> None:
    """A forget fraction is in (0, 1), or None for every eligible user."""
    if fraction is None:
        return
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
            or not 0.0 < float(fraction) < 1.0:
        raise ConfigError(f"{where} must be in (0, 1) (e.g. 0.05 for 5%) or null (every "
                          f"eligible user), got {fraction!r}")


def make_forget_split(split: DataSplit, strategy: str, fraction: float | None = None,
                      seed: int = 0, unit: str = "users", **options: Any) -> ForgetSplit:
    """Select a forget set on `split.train` and build its manifest (ids, sha256, holdouts)."""
    check_fraction(fraction)
    opts = config_from_dict(ForgetOptions, {"unit": unit, **options}, "forget")
    fn = STRATEGIES.get(strategy)
    ctx = RunContext(seed=seed).child("forget").child(strategy)
    train = split.train
    sel = fn(train, fraction, ctx, opts)
    n_forget = int(sel.rows.sum())
    if n_forget == len(train):
        raise DataError(f"{strategy} at fraction {fraction} would forget all {len(train)} train "
                        "interactions; use a smaller fraction")
    if sel.kind != "attribute" and n_forget == 0:
        raise DataError(f"{strategy} at fraction {fraction} selects no train interaction")
    forget = train.subset(sel.rows, "forget")
    request = ForgetRequest(sel.kind, forget, sel.users, sel.attribute)
    retain = request.retained(train)
    valid, test, hv, ht = split.valid, split.test, _empty(split.valid), _empty(split.test)
    if sel.kind == "users":
        mv, mt = split.valid.users_mask(sel.users), split.test.users_mask(sel.users)
        valid, hv = split.valid.subset(~mv, "valid"), split.valid.subset(mv, "holdout_valid")
        test, ht = split.test.subset(~mt, "test"), split.test.subset(mt, "holdout_test")
    split_id = _split_id(split, strategy, fraction, seed, opts)
    card = {"split_id": split_id, "dataset": split.dataset.ref,
            "dataset_sha256": split.dataset.sha256, "data_split_sha256": split.sha256,
            "data_split": split.protocol, "strategy": strategy, "fraction": fraction,
            "seed": seed, "options": {k: v for k, v in vars(opts).items() if v is not None},
            "kind": sel.kind, "attribute": sel.attribute,
            "n_forget_users": int(len(sel.users)), "n_forget_interactions": n_forget,
            "n_retained_interactions": len(retain), "n_train_interactions": len(train),
            "share_of_train": round(n_forget / len(train), 6),
            "n_holdout_test": len(ht), "package_version": __version__}
    return ForgetSplit(split_id, split.dataset, request, train, retain, valid, test, hv, ht,
                       card).with_hash()


def _empty(inter: Interactions) -> Interactions:
    return inter.subset(np.zeros(len(inter), dtype=bool), "holdout")


def _split_id(split: DataSplit, strategy: str, fraction: float | None, seed: int,
              opts: ForgetOptions) -> str:
    share = "all" if fraction is None else f"{fraction * 100:g}pct"
    if strategy == "category":
        label = f"category-{opts.category_column}={opts.category}-{share}"
    elif strategy == "attribute":
        label = f"attribute-{opts.attribute}-{share}"
    else:
        label = f"{strategy}-{opts.unit}-{share}"
        if opts.target_interactions is not None:
            label += f"-n{opts.target_interactions}"
    sid = f"{split.dataset.ref}/{label}/seed{seed}"
    if split.seed is not None and split.seed != seed:
        sid += f"-split{split.seed}"
    return sid
