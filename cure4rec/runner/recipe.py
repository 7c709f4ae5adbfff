"""Recipes: YAML files with `base:` inheritance, sweeps over list values, validated up front.

A recipe names a dataset, a split, a forget selection, models, methods, seeds and the
evaluator settings. `base:` (a path relative to the recipe file, or a list of them) is
deep-merged under the recipe; the recipe's own values win. A list given where a scalar is
expected is a sweep: `forget.strategy`, `forget.fraction`, `dataset.name` and any model or
method config key whose declared type is not a list. Cells are the cartesian product.

A recipe is data: it is parsed with a YAML loader that refuses duplicate keys and bounds
aliases and the expanded size, its `name` is a slug (results stay under `--results`), the
cell count is checked (`max_cells`) before anything is expanded, and a model, method or
strategy given as `module:attr` or `path/to/file.py:Class` (code to import) is refused
unless the caller passes `allow_code=True` (`--allow-code` on the command line).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cure4rec.config import config_from_dict
from cure4rec.errors import ConfigError, CureError

SWEEPABLE = (("dataset", "name"), ("forget", "strategy"), ("forget", "fraction"))
MAX_CELLS = 100_000
MAX_RECIPE_BYTES = 1 << 20
MAX_ALIASES = 100
MAX_NODES = 100_000
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


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

    `manifest: DIR` (relative to the recipe) runs on a published forget split instead (a
    folder written by `cure4rec split make --out`); its sha256 is verified and becomes part
    of every cell's definition, and strategy / fraction / seed are read from its card.
    """

    strategy: str | list[str] = "random"
    fraction: float | list[float] | None = 0.05
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    manifest: str | None = None


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
        if self.retrain_seeds < 1:
            raise ValueError(f"retrain_seeds must be >= 1, got {self.retrain_seeds}")
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
    device: str = "cpu"  # auto | cpu | cuda | cuda:N; an execution setting, not in cell hashes
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


class _RecipeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and more than MAX_ALIASES aliases."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.n_aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (*name); write the "
                                     "values out or use base: files")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # SafeLoader reports unhashable keys itself
                if key in seen and key != "<<":
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line "
                        f"{seen[key].start_mark.line + 1}); keep one", key_node.start_mark)
                seen.setdefault(key, key_node)
        return super().construct_mapping(node, deep=deep)


def _count_nodes(obj: Any, budget: int) -> int:
    """Nodes of `obj` with shared (aliased) parts counted each time; stops past `budget`."""
    n, stack = 0, [obj]
    while stack:
        x = stack.pop()
        n += 1
        if n > budget:
            return n
        if isinstance(x, dict):
            stack.extend(x.values())
            stack.extend(x.keys())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return n


def parse_yaml(text: str, where: str) -> Any:
    """Parse recipe YAML text safely (duplicate keys, alias and size bounds); ConfigError."""
    try:
        data = yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        msg = (f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
               if mark is not None and problem else str(exc))
        raise ConfigError(f"{where}: not valid YAML: {' '.join(msg.split())}") from exc
    if _count_nodes(data, MAX_NODES) > MAX_NODES:
        raise ConfigError(f"{where}: expands to more than {MAX_NODES} values (aliases nested "
                          "in aliases?); write the recipe out or split it")
    return data


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        if path.is_dir():
            raise ConfigError(f"recipe {path} is a directory; give a .yaml file in it")
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise ConfigError(f"recipe {path} is {size} bytes (limit {MAX_RECIPE_BYTES}); "
                              "a recipe is a short YAML file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"recipe file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"recipe {path}: not UTF-8 text (byte {exc.start}); save it as "
                          "UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"recipe {path}: cannot be read ({exc.strerror or exc})") from exc
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping at top level")
    return data


def resolve_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The recipe's mapping with every `base:` merged in (the recipe's own values win).

    Paths in a recipe resolve against the recipe file's folder: `base:`, `dataset.data_dir`
    and a `dataset.name` that names a folder (starts with `.` or `/`, or contains `/`).
    """
    path = Path(path).resolve()
    if path in _seen:
        raise ConfigError(f"{path}: circular base: chain {' -> '.join(map(str, _seen))}")
    data = _read_yaml(path)
    bases = data.pop("base", None) or []
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{path}: base: must be a file name or a list of them, got {bases!r}")
    merged: dict[str, Any] = {}
    for b in bases:
        merged = _deep_merge(merged, resolve_raw(path.parent / b, (*_seen, path)))
    fg = data.get("forget")
    if isinstance(fg, dict) and isinstance(fg.get("manifest"), str) and fg["manifest"]:
        fg["manifest"] = str((path.parent / Path(fg["manifest"]).expanduser()).resolve())
    ds = data.get("dataset")
    if isinstance(ds, dict):
        if isinstance(ds.get("data_dir"), str) and ds["data_dir"]:
            ds["data_dir"] = str((path.parent / ds["data_dir"]).resolve())
        names = ds.get("name")
        if isinstance(names, (str, list)):
            ds["name"] = ([_local_dataset(n, path) for n in names] if isinstance(names, list)
                          else _local_dataset(names, path))
    return _deep_merge(merged, data)


def _local_dataset(name: Any, recipe: Path) -> Any:
    """A dataset name that is a folder path, made absolute against the recipe's folder."""
    if isinstance(name, str) and (name.startswith((".", "/", "~")) or "/" in name):
        return str((recipe.parent / Path(name).expanduser()).resolve())
    return name


def code_imports(recipe: Recipe) -> list[str]:
    """`module:attr` / `file.py:Class` names in the recipe: code a run would import."""
    names = [c.name for c in (*recipe.models, *recipe.methods)]
    names += [s for s in as_list(recipe.forget.strategy) if isinstance(s, str)]
    return list(dict.fromkeys(n for n in names if ":" in n))


def count_cells(recipe: Recipe) -> int:
    """Upper bound of the recipe's cell count, computed without expanding the sweep."""
    def configs(kind: str, comp: Component) -> int:
        scalar = _scalar_keys(kind, comp.name)
        return math.prod(len(v) for k, v in comp.config.items()
                         if isinstance(v, list) and (scalar is None or k in scalar))

    models = sum(configs("model", m) for m in recipe.models)
    methods = sum(configs("method", m) for m in recipe.methods)
    grid = (len(as_list(recipe.dataset.name)) * len(as_list(recipe.forget.strategy))
            * len(as_list(recipe.forget.fraction)) * len(recipe.seeds))
    return grid * models * (methods + 2)


def load_recipe(path: str | Path, validate_components: bool = True, *,
                allow_code: bool = False, max_cells: int = MAX_CELLS) -> Recipe:
    """Read, resolve and validate a recipe file (every error names the key and the file).

    A model, method or strategy named `module:attr` or `file.py:Class` is imported only with
    `allow_code=True`; the cell count is checked against `max_cells` before expansion.
    """
    raw = resolve_raw(path)
    if "name" not in raw:
        raw["name"] = Path(path).stem
    name = raw["name"]
    if not isinstance(name, str) or not SLUG.fullmatch(name) or set(name) <= {"."}:
        raise ConfigError(f"{path}: name {name!r} is not a slug (letters, digits, '.', '_', "
                          "'-'; no '/' or '..'): results go to <results>/<name>; rename it")
    _resolve_files(raw, Path(path).resolve().parent)
    recipe = recipe_from_dict(raw, where=str(path), allow_code=allow_code)
    n = count_cells(recipe)
    if n > max_cells:
        raise ConfigError(f"{path}: the sweep makes {n} cells, more than --max-cells "
                          f"{max_cells}; narrow the sweep or raise --max-cells")
    if n == 0:
        raise ConfigError(f"{path}: the sweep makes no cells (an empty list in a swept key?)")
    if validate_components:
        for cell in iter_component_configs(recipe):
            cell.validate(str(path))
    return recipe


def _resolve_files(raw: dict[str, Any], folder: Path) -> None:
    """`file.py:Class` names of models and methods, made absolute against the recipe folder."""
    for key in ("models", "methods"):
        for entry in raw.get(key) or [] if isinstance(raw.get(key), list) else []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and ":" in name:
                file, _, attr = name.rpartition(":")
                if file.endswith(".py") and not Path(file).is_absolute():
                    entry["name"] = f"{(folder / file).resolve()}:{attr}"


def check_code(recipe: Recipe, where: str, allow_code: bool) -> None:
    """Refuse code imports (`module:attr`, `file.py:Class`) unless `allow_code`."""
    if allow_code:
        return
    for name in code_imports(recipe):
        raise ConfigError(f"{where}: {name!r} imports code ({name.rpartition(':')[0]}); a recipe "
                          "is data: pass --allow-code if you trust it, or use a registered name")


def recipe_from_dict(raw: dict[str, Any], where: str = "recipe", *,
                     allow_code: bool = True) -> Recipe:
    """Validate a resolved recipe mapping (names, strategies, evaluator keys included)."""
    try:
        recipe = config_from_dict(Recipe, {**raw, "source": where}, where=where)
    except ConfigError:
        raise
    except CureError as exc:  # pragma: no cover - defensive
        raise ConfigError(f"{where}: {exc}") from exc
    if recipe.forget.manifest is not None:
        recipe = _with_manifest(recipe, raw.get("forget") or {}, where)
    if not recipe.models or not recipe.methods or not recipe.seeds:
        raise ConfigError(f"{where}: models, methods and seeds must each list at least one entry")
    check_code(recipe, where, allow_code)
    _check_names(recipe, where)
    if recipe.fairness and any(m.name == "recbole" for m in recipe.models):
        raise ConfigError(f"{where}: fairness.{', '.join(sorted(recipe.fairness))} trains with "
                          "an extra loss term, which RecBole's Trainer cannot take; use a "
                          "cure4rec model (bpr, lightgcn, ...) with it")
    _check_forget(recipe.forget, where)
    _check_device(recipe.device, where)
    build_regularizers(recipe.fairness, where)
    from cure4rec.metrics.evaluator import EvaluatorConfig

    ev = EvaluatorConfig.from_dict(dict(recipe.evaluator), where=f"{where}: evaluator")
    need = 3 if ev.completeness and ev.calibrated else 2 if (ev.completeness or ev.mia) else 1
    if recipe.references.retrain_seeds < need:
        raise ConfigError(f"{where}: references.retrain_seeds {recipe.references.retrain_seeds}:"
                          f" retrain_seeds must be >= {need} (the calibrated completeness null "
                          "is leave-one-out over the references; 8 is the default); set "
                          f"retrain_seeds: {need} or more (or "
                          "evaluator completeness: false, mia: false)")
    return recipe


def manifest_card(directory: str, where: str = "recipe") -> dict[str, Any]:
    """The verified card of the forget-split manifest in `directory` (DataError if damaged);
    verified once per process and card.json modification."""
    card = Path(directory) / "card.json"
    stamp = card.stat().st_mtime_ns if card.is_file() else 0
    return dict(_manifest_card(str(Path(directory).resolve()), stamp))


@functools.lru_cache(maxsize=8)
def _manifest_card(directory: str, stamp: int) -> dict[str, Any]:
    from cure4rec.commands.split import load_manifest

    return dict(load_manifest(directory).card)


def _with_manifest(recipe: Recipe, raw_forget: dict[str, Any], where: str) -> Recipe:
    """The recipe with its forget section read from `forget.manifest`'s verified card."""
    extra = sorted(set(raw_forget) - {"manifest"})
    if extra:
        raise ConfigError(f"{where}: forget.manifest replaces forget.{', forget.'.join(extra)} "
                          "(the manifest fixes the forget set); remove them")
    path = recipe.forget.manifest
    assert path is not None
    try:
        card = manifest_card(path, where)
    except CureError as exc:
        raise ConfigError(f"{where}: forget.manifest: {exc}") from exc
    names = as_list(recipe.dataset.name)
    ds_name = str(card.get("dataset", "")).split("@", 1)[0]
    if len(names) != 1 or Path(str(names[0])).name != ds_name:
        raise ConfigError(f"{where}: forget.manifest {path} was made on dataset {ds_name!r}, "
                          f"but dataset.name is {recipe.dataset.name!r}; use that dataset")
    forget = dataclasses.replace(recipe.forget, strategy=str(card["strategy"]),
                                 fraction=card.get("fraction"), seed=int(card.get("seed", 0)))
    return dataclasses.replace(recipe, forget=forget)


def _check_names(recipe: Recipe, where: str) -> None:
    """Every dataset, strategy, model and method name resolves now, not when a cell runs."""
    from cure4rec.data.cards import load_card
    from cure4rec.forget.select import STRATEGIES

    for ds in as_list(recipe.dataset.name):
        if not isinstance(ds, str) or not ds:
            raise ConfigError(f"{where}: dataset.name must be a card name or a folder, got {ds!r}")
        if not Path(ds).is_dir():
            try:
                load_card(ds)
            except CureError as exc:
                raise ConfigError(f"{where}: dataset.name: {exc}") from exc
    for strategy in as_list(recipe.forget.strategy):
        try:
            STRATEGIES.get(strategy)
        except CureError as exc:
            raise ConfigError(f"{where}: forget.strategy: {exc}") from exc
    for kind, comps in (("model", recipe.models), ("method", recipe.methods)):
        for k, comp in enumerate(comps):
            try:
                _component_class(kind, comp.name)
            except CureError as exc:
                raise ConfigError(f"{where}: {kind}s[{k}].name: {exc}") from exc


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


def _check_device(device: str, where: str) -> None:
    """The spelling of `device:` (availability is checked when the recipe runs)."""
    d = str(device).strip().lower()
    if d not in ("auto", "cpu", "cuda") and not (d.startswith("cuda:") and d[5:].isdigit()):
        raise ConfigError(f"{where}: device {device!r}: use auto, cpu, cuda or cuda:N")


def _check_forget(forget: ForgetSection, where: str) -> None:
    """Strategy options and fractions are checked now, not when the first cell runs."""
    from cure4rec.forget.select import ForgetOptions, check_fraction

    opts = config_from_dict(ForgetOptions, dict(forget.options), where=f"{where}: forget.options")
    if forget.manifest is not None:
        return  # a published split: its card was verified when the recipe was read
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
        at = f"{where}: {self.kind}s[{self.name}]"
        if cfg_cls is not None:
            try:
                config_from_dict(cfg_cls, dict(self.config), where=at)
            except ConfigError as exc:
                if where in str(exc):
                    raise
                raise ConfigError(f"{at}: {exc}") from exc


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
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{os.getpid()}-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(yaml.safe_dump(recipe.as_dict(), sort_keys=True))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
