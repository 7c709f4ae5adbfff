"""Recipes: YAML files with `base:` inheritance, sweeps over list values, validated up front.

A recipe names a dataset, a split, a forget selection, models, methods, seeds and the
evaluator settings. `base:` (a path relative to the recipe file, or a list of them) is
deep-merged under the recipe; the recipe's own values win. A list given where a scalar is
expected is a sweep: `forget.strategy`, `forget.fraction`, `dataset.name` and any model or
method config key whose declared type is not a list. Cells are the cartesian product.
"""

from __future__ import annotations

import dataclasses
import itertools
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cure4rec.config import config_from_dict
from cure4rec.errors import ConfigError, CureError

SWEEPABLE = (("dataset", "name"), ("forget", "strategy"), ("forget", "fraction"))


@dataclass(frozen=True)
class DatasetSection:
    """Which dataset to load and how (`params`: preprocessing / generator overrides)."""

    name: str | list[str]
    data_dir: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitSection:
    """Train/valid/test split protocol; `None` keeps the dataset card's default."""

    protocol: str | None = None
    ratios: list[float] | None = None
    seed: int = 0


@dataclass(frozen=True)
class ForgetSection:
    """Forget-set selection; a list in `strategy` or `fraction` is a sweep.

    `fraction: null` selects every eligible user (e.g. all users with a known attribute for
    `strategy: attribute`). `options` are the strategy's options
    (`cure4rec.forget.select.ForgetOptions`: `attribute`, `unit`, `category`, ...), e.g.
    `{strategy: attribute, fraction: null, options: {attribute: gender}}`.
    """

    strategy: str | list[str] = "random"
    fraction: float | list[float] | None = 0.05
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Component:
    """A registered model or method name and its config (lists in scalar keys sweep)."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)


REFERENCE_KINDS = ("auto", "retrain", "method")


@dataclass(frozen=True)
class ReferencesSection:
    """What each cell's completeness is judged against, and with how many seeds.

    `kind`: `retrain` = the plain model retrained from scratch on the retained data;
    `method` = the cell's own method learned on the retained data (A(D − D_f)) with other
    seeds; `auto` = `method` for exact methods other than plain retraining (SISA, RecEraser,
    UltraRE: their served model is an ensemble, so a single retrained model is the wrong
    yardstick), `retrain` otherwise. `method_seeds` (default: `retrain_seeds`) sets how
    many method references are learned; the plain retrains are always trained (they are
    the `retrain` rows, the efficiency baseline and the attack shadows' template).
    The calibrated completeness score needs ≥ 3 of each (its leave-one-out null); 8 is the
    default and what the committed ML-100K tables use.
    """

    retrain_seeds: int = 8
    kind: str = "auto"
    method_seeds: int | None = None

    def __post_init__(self) -> None:
        if self.retrain_seeds < 3:
            raise ValueError(f"retrain_seeds must be >= 3 (the calibrated completeness null "
                             f"is leave-one-out over them; 8 is the default), "
                             f"got {self.retrain_seeds}")
        if self.kind not in REFERENCE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(REFERENCE_KINDS)}, "
                             f"got {self.kind!r}")
        if self.method_seeds is not None and self.method_seeds < 3:
            raise ValueError(f"method_seeds must be >= 3 (the calibrated completeness null "
                             f"is leave-one-out over them), got {self.method_seeds}")


@dataclass(frozen=True)
class StreamSection:
    """Split the forget request into `n_requests` sequential requests."""

    n_requests: int = 1


@dataclass(frozen=True)
class Recipe:
    """A validated, inheritance-resolved recipe."""

    name: str
    dataset: DatasetSection
    models: list[Component]
    methods: list[Component]
    split: SplitSection = field(default_factory=SplitSection)
    forget: ForgetSection = field(default_factory=ForgetSection)
    fairness: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    evaluator: dict[str, Any] = field(default_factory=dict)
    references: ReferencesSection = field(default_factory=ReferencesSection)
    stream: StreamSection | None = None
    description: str = ""
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain view (the content of `recipe.resolved.yaml`), without the source path."""
        out = dataclasses.asdict(self)
        out.pop("source")
        return out


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"recipe file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping at top level")
    return data


def resolve_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The recipe's mapping with every `base:` merged in (the recipe's own values win)."""
    path = Path(path).resolve()
    if path in _seen:
        raise ConfigError(f"{path}: circular base: chain {' -> '.join(map(str, _seen))}")
    data = _read_yaml(path)
    bases = data.pop("base", None) or []
    merged: dict[str, Any] = {}
    for b in [bases] if isinstance(bases, str) else bases:
        merged = _deep_merge(merged, resolve_raw(path.parent / b, (*_seen, path)))
    if "data_dir" in (data.get("dataset") or {}) and data["dataset"]["data_dir"]:
        data["dataset"]["data_dir"] = str((path.parent / data["dataset"]["data_dir"]).resolve())
    return _deep_merge(merged, data)


def load_recipe(path: str | Path, validate_components: bool = True) -> Recipe:
    """Read, resolve and validate a recipe file (every error names the key and the file)."""
    raw = resolve_raw(path)
    raw.setdefault("name", Path(path).stem)
    recipe = recipe_from_dict(raw, where=str(path))
    if validate_components:
        for cell in iter_component_configs(recipe):
            cell.validate(str(path))
    return recipe


def recipe_from_dict(raw: dict[str, Any], where: str = "recipe") -> Recipe:
    """Validate a resolved recipe mapping."""
    try:
        recipe = config_from_dict(Recipe, {**raw, "source": where}, where=where)
    except ConfigError:
        raise
    except CureError as exc:  # pragma: no cover - defensive
        raise ConfigError(f"{where}: {exc}") from exc
    if not recipe.models or not recipe.methods or not recipe.seeds:
        raise ConfigError(f"{where}: models, methods and seeds must each list at least one entry")
    _check_forget(recipe.forget, where)
    build_regularizers(recipe.fairness, where)
    return recipe


def build_regularizers(fairness: dict[str, Any], where: str = "recipe") -> list[Any]:
    """The training regulariser factories of a `fairness:` section (known: `ucds`)."""
    out = []
    for name, cfg in sorted(fairness.items()):
        if name != "ucds":
            raise ConfigError(f"{where}: fairness.{name}: unknown regulariser; known: ucds")
        if cfg is not None and not isinstance(cfg, dict):
            raise ConfigError(f"{where}: fairness.ucds must be a mapping, got {cfg!r}")
        from cure4rec.fairness.ucds import ucds_regularizer

        try:
            out.append(ucds_regularizer(**(cfg or {})))
        except (ConfigError, TypeError) as exc:
            raise ConfigError(f"{where}: fairness.ucds: {exc}") from exc
    return out


def _check_forget(forget: ForgetSection, where: str) -> None:
    """Strategy options and fractions are checked now, not when the first cell runs."""
    from cure4rec.forget.select import ForgetOptions, check_fraction

    opts = config_from_dict(ForgetOptions, dict(forget.options), where=f"{where}: forget.options")
    for fraction in as_list(forget.fraction):
        check_fraction(fraction, f"{where}: forget.fraction")
    if "attribute" in as_list(forget.strategy) and opts.attribute is None:
        raise ConfigError(f"{where}: forget.strategy 'attribute' needs forget.options.attribute "
                          "(a user attribute column, e.g. gender)")


@dataclass(frozen=True)
class ComponentConfig:
    """One model or method with a concrete (sweep-free) config."""

    kind: str
    name: str
    config: dict[str, Any]

    def validate(self, where: str) -> None:
        """Build the component's Config to check keys and values now, before anything runs."""
        cls = _component_class(self.kind, self.name)
        cfg_cls = getattr(cls, "Config", None)
        if cfg_cls is not None:
            config_from_dict(cfg_cls, dict(self.config), where=f"{where}: {self.kind}s[{self.name}]")


def _component_class(kind: str, name: str) -> Any:
    if kind == "model":
        from cure4rec.models.base import MODELS

        return MODELS.get(name)
    from cure4rec.methods.base import METHODS

    return METHODS.get(name)


def _scalar_keys(kind: str, name: str) -> set[str] | None:
    """Config keys whose declared type is not a list/tuple (lists there are sweeps)."""
    try:
        cfg_cls = getattr(_component_class(kind, name), "Config", None)
    except CureError:
        return None
    if cfg_cls is None:
        return set()
    hints = typing.get_type_hints(cfg_cls)
    listy = {list, tuple}
    return {k for k, h in hints.items()
            if typing.get_origin(h) not in listy and h not in listy
            and not any(typing.get_origin(a) in listy for a in typing.get_args(h))}


def expand_component(kind: str, comp: Component) -> list[ComponentConfig]:
    """The sweep of one model or method entry (cartesian product of its list values)."""
    scalar = _scalar_keys(kind, comp.name)
    keys = sorted(k for k, v in comp.config.items()
                  if isinstance(v, list) and (scalar is None or k in scalar))
    combos = itertools.product(*(comp.config[k] for k in keys)) if keys else [()]
    return [ComponentConfig(kind, comp.name, {**comp.config, **dict(zip(keys, combo))})
            for combo in combos]


def iter_component_configs(recipe: Recipe) -> list[ComponentConfig]:
    """Every concrete model and method config of the recipe."""
    out = [c for m in recipe.models for c in expand_component("model", m)]
    return out + [c for m in recipe.methods for c in expand_component("method", m)]


def as_list(value: Any) -> list[Any]:
    """A sweepable value as the list of its settings."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def save_resolved(recipe: Recipe, path: Path) -> None:
    """Write the resolved recipe as YAML (sorted keys; atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(recipe.as_dict(), sort_keys=True))
    tmp.replace(path)
