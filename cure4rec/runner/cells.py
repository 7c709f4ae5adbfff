"""Cells: one (dataset, split, forget set, model, method, seed) point of a recipe.

A cell's definition is plain JSON; its config hash (sha256 of the canonical JSON, without
locations such as `data_dir` or the cache folder) keys its record and is the same whatever
executor runs it. Reference cells (`original`, `retrain`) score the model trained on the
full train set and the retrain-from-scratch references; they are records too.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from cure4rec.config import config_hash
from cure4rec.runner.recipe import Recipe, as_list, expand_component

CellKind = Literal["method", "original", "retrain"]
REFERENCE_KINDS: tuple[CellKind, ...] = ("original", "retrain")


@dataclass(frozen=True)
class CellSpec:
    """Everything needed to run one cell; `definition()` is what its hash covers."""

    kind: CellKind
    dataset: dict[str, Any]
    split: dict[str, Any]
    forget: dict[str, Any]
    model: dict[str, Any]
    method: dict[str, Any]
    seed: int
    evaluator: dict[str, Any] = field(default_factory=dict)
    references: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] = field(default_factory=dict)
    stream: dict[str, Any] | None = None
    data_dir: str | None = None
    cache_dir: str | None = None
    threads: int = 1
    manifest_dir: str | None = None
    device: str = "cpu"  # resolved (`cpu`, `cuda`, `cuda:N`) by the runner before it runs

    def definition(self) -> dict[str, Any]:
        """The cell as plain JSON, excluding locations and execution settings."""
        out = dataclasses.asdict(self)
        for k in ("data_dir", "cache_dir", "threads", "manifest_dir", "device"):
            out.pop(k)
        return out

    @property
    def config_hash(self) -> str:
        """sha256 (16 hex) of the canonical JSON of `definition()`."""
        return config_hash(self.definition())

    def label(self) -> str:
        """Short human-readable description for progress output."""
        m = self.method["name"] if self.kind == "method" else f"[{self.kind}]"
        frac = self.forget["fraction"]
        share = "all" if frac is None else f"{frac:g}"
        return (f"{self.dataset['name']} {self.forget['strategy']}@{share} "
                f"{self.model['name']} {m} seed={self.seed}")


def supported_models(method: str) -> tuple[str, ...]:
    """Model names the method's card declares (`("*",)`: any model)."""
    from cure4rec.methods.base import METHODS

    card = getattr(METHODS.get(method), "card", None)
    return tuple(getattr(card, "models", ("*",)))


def unsupported_pairs(recipe: Recipe) -> list[tuple[str, str]]:
    """(model, method) name pairs of the recipe that the method's card does not support."""
    models = dict.fromkeys(m.name for m in recipe.models)
    out = []
    for meth in dict.fromkeys(m.name for m in recipe.methods):
        allowed = supported_models(meth)
        out += [(model, meth) for model in models if "*" not in allowed and model not in allowed]
    return out


def request_kinds(method: str) -> tuple[str, ...]:
    """Request kinds the method's card handles (users / interactions / items / attribute)."""
    from cure4rec.methods.base import METHODS

    card = getattr(METHODS.get(method), "card", None)
    return tuple(getattr(card, "request_kinds", ("users", "interactions", "items")))


def unsupported_requests(recipe: Recipe) -> list[tuple[str, str]]:
    """(strategy, method) pairs whose request the method cannot take.

    The `attribute` strategy makes an attribute request (nothing deleted), which only the
    attribute methods take; every other strategy deletes data, which they do not.
    """
    out = []
    for strategy in dict.fromkeys(as_list(recipe.forget.strategy)):
        for meth in dict.fromkeys(m.name for m in recipe.methods):
            kinds = request_kinds(meth)
            ok = "attribute" in kinds if strategy == "attribute" else any(
                k != "attribute" for k in kinds)
            if not ok:
                out.append((strategy, meth))
    return out


SEEDED_STRATEGIES = ("random",)


def forget_seed(strategy: str, recipe_seed: int, cell_seed: int) -> int:
    """The forget-selection seed of a cell: the cell seed for random selections (each seed
    draws its own forget set, so "± over seeds" covers the choice of users), the recipe's
    `forget.seed` for deterministic ones (core / edge: the same users on every seed)."""
    return int(cell_seed) if strategy in SEEDED_STRATEGIES else int(recipe_seed)


def _forget_def(strategy: str, fraction: float | None, recipe: Recipe, seed: int
                ) -> dict[str, Any]:
    """The forget part of a cell definition (`options` only when set, so that recipes
    without options keep their config hashes)."""
    out: dict[str, Any] = {"strategy": strategy,
                           "fraction": None if fraction is None else float(fraction),
                           "seed": forget_seed(strategy, recipe.forget.seed, seed)}
    if recipe.forget.options:
        out["options"] = dict(recipe.forget.options)
    if recipe.forget.manifest is not None:  # a published split: its sha256 is the identity
        from cure4rec.runner.recipe import manifest_card

        out["manifest"] = manifest_card(recipe.forget.manifest)["sha256"]
    return out


def expand_cells(recipe: Recipe, cache_dir: str | None = None) -> list[CellSpec]:
    """All cells of a recipe, references first within each group, in a stable order.

    Grid points whose method does not support the model (its card's `models`) are left out,
    as they cannot run; `unsupported_pairs` names them, and the CLI prints them.
    """
    models = [c for m in recipe.models for c in expand_component("model", m)]
    methods = [c for m in recipe.methods for c in expand_component("method", m)]
    skip = set(unsupported_pairs(recipe))
    skip_requests = set(unsupported_requests(recipe))
    common = {"evaluator": dict(recipe.evaluator),
              "references": dataclasses.asdict(recipe.references),
              "fairness": dict(recipe.fairness),
              "stream": dataclasses.asdict(recipe.stream) if recipe.stream else None,
              "data_dir": recipe.dataset.data_dir, "cache_dir": cache_dir,
              "manifest_dir": recipe.forget.manifest}
    split = dataclasses.asdict(recipe.split)
    cells: list[CellSpec] = []
    grid = itertools.product(as_list(recipe.dataset.name), as_list(recipe.forget.strategy),
                             as_list(recipe.forget.fraction), models, recipe.seeds)
    for ds, strategy, fraction, model, seed in grid:
        base = {"dataset": {"name": ds, "params": dict(recipe.dataset.params)}, "split": split,
                "forget": _forget_def(strategy, fraction, recipe, seed),
                "model": {"name": model.name, "config": dict(model.config)}, "seed": int(seed)}
        for kind in REFERENCE_KINDS:
            cells.append(CellSpec(kind=kind, method={"name": kind, "config": {}},
                                  **base, **common))  # type: ignore[arg-type]
        for meth in methods:
            if (model.name, meth.name) in skip or (strategy, meth.name) in skip_requests:
                continue
            cells.append(CellSpec(kind="method", method={"name": meth.name,
                                                         "config": dict(meth.config)},
                                  **base, **common))  # type: ignore[arg-type]
    return _dedupe(cells)


def _dedupe(cells: list[CellSpec]) -> list[CellSpec]:
    seen: set[str] = set()
    out = []
    for c in cells:
        if c.config_hash not in seen:
            seen.add(c.config_hash)
            out.append(c)
    return out


def spec_from_dict(d: dict[str, Any]) -> CellSpec:
    """Rebuild a CellSpec from `dataclasses.asdict` output (e.g. after a process hop)."""
    return CellSpec(**d)
