"""The leaderboard as a pure function of run records (MTEB-style).

Input records are reduced to what the leaderboard reads and sorted; output is a
`Leaderboard` of sections (dataset x forget setting x other settings), each with reference
rows (`original`, `retrain`) and method rows, mean ± 95% CI half-width over seeds (Student
t); a "best" row is marked only when Welch's test separates it from the runner-up. A row that lacks a seed
any other row of its section has, or a metric on any seed, gets an empty cell: partial
coverage is never averaged. The header fingerprint is the sha256 of the canonical input.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cure4rec.config import canonical_json, config_hash

ASPECTS = ("completeness", "utility", "efficiency", "fairness")
READ_FIELDS = ("config_hash", "kind", "cell", "dataset", "split", "seed", "metrics")


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation and 95% CI half-width (Student t, n − 1 df) of one
    metric over `n` seeds (None: no value); `values` are the per-seed values, seed order."""

    mean: float | None
    std: float | None
    n: int
    ci: float | None = None
    values: tuple[float, ...] = ()


@dataclass(frozen=True)
class Row:
    """One model x method line of a section."""

    model: str
    method: str
    role: str
    seeds: tuple[int, ...]
    values: dict[str, Stat]
    failed: tuple[tuple[int, str], ...] = ()  # (seed, exception type) of error records

    @property
    def label(self) -> str:
        return f"{self.method} (reference)" if self.role == "reference" else self.method


@dataclass(frozen=True)
class Section:
    """Rows sharing a dataset, forget setting and evaluation settings."""

    title: str
    key: str
    seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    directions: dict[str, str]
    rows: tuple[Row, ...]
    protocol: str = ""
    splits: tuple[tuple[str, str], ...] = ()  # (split id, split sha256), sorted
    dataset: tuple[tuple[str, str], ...] = ()  # (name, version, sha256) as key/value pairs


@dataclass(frozen=True)
class Leaderboard:
    """Sections plus the fingerprint and size of the input."""

    fingerprint: str
    n_records: int
    versions: tuple[str, ...]
    sections: tuple[Section, ...]
    protocols: tuple[str, ...] = ()


def direction_of(key: str) -> str:
    """`higher`, `lower`, `target` or `none`, as declared by the metric catalogue."""
    from cure4rec.errors import CureError
    from cure4rec.metrics.catalog import metric_info

    try:
        return metric_info(key).direction
    except CureError:
        return "none"


def aspect_of(key: str) -> str:
    """The aspect prefix of a flat metric key."""
    return key.split(".", 1)[0]


OWN_REFERENCE_MARK = "*"
OWN_REFERENCE_NOTE = ("* completeness (ratios, attacks' retrain values) judged against the "
                      "method's own algorithm learned on the retained data with other seeds "
                      "(exact ensembles); unmarked rows against the plain retrained model.")


LEGACY_PROTOCOL = "before cure4rec-eval/2 (no evaluation_protocol field)"


def protocol_of(rec: dict[str, Any]) -> str | None:
    """The record's `evaluation_protocol` (None: records before cure4rec-eval/2)."""
    return (rec.get("info") or {}).get("evaluation_protocol")


def _view(rec: dict[str, Any]) -> dict[str, Any]:
    view = {k: rec[k] for k in READ_FIELDS}
    info = rec.get("info") or {}
    kind = info.get("reference_kind")
    if kind is not None:  # what completeness was judged against (records since schema 1)
        view["reference_kind"] = kind
    if info.get("evaluation_protocol") is not None:
        view["evaluation_protocol"] = info["evaluation_protocol"]
    card = (info.get("method_provenance") or {}).get("card")
    if card is not None:  # rows are labelled by the card's name
        view["card"] = card
    if rec.get("status") is not None:  # error records (a failed cell)
        view["status"] = rec["status"]
        view["error_type"] = (rec.get("error") or {}).get("type")
    return view


def fingerprint(records: Iterable[dict[str, Any]]) -> str:
    """sha256 of the canonical JSON of the sorted, leaderboard-read content of `records`."""
    views = sorted((_view(r) for r in records), key=lambda v: v["config_hash"])
    return hashlib.sha256(canonical_json(views).encode()).hexdigest()


def _section_key(rec: dict[str, Any]) -> tuple[str, str]:
    cell = rec["cell"]
    settings = {k: cell.get(k) for k in ("split", "evaluator", "references", "fairness",
                                         "stream")}
    settings["params"] = cell["dataset"].get("params", {})
    settings["forget_seed"] = cell["forget"].get("seed", 0)
    protocol = protocol_of(rec)
    if protocol is not None:  # protocols never share a section (older records: unchanged keys)
        settings["protocol"] = protocol
        if cell["forget"]["strategy"] == "random":  # drawn from the cell seed
            settings["forget_seed"] = "cell"
    ds, f = rec["dataset"], cell["forget"]
    opts = f.get("options") or {}
    if opts:  # only when set: sections of option-free recipes keep their keys
        settings["forget_options"] = opts
    h = config_hash(settings, 8)
    strategy = f["strategy"] + (" (" + ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))
                                + ")" if opts else "")
    frac = f["fraction"]
    share, frac_key = ("all", "all") if frac is None else (f"{100 * frac:g}%", f"{frac:.6f}")
    title = f"{ds['name']} v{ds.get('version', '')} · {strategy} {share} · settings {h}"
    if protocol is not None:
        title += f" · {protocol}"
    return f"{ds['name']}|{ds.get('version', '')}|{f['strategy']}|{frac_key}|{h}", title


def _label(component: dict[str, Any], varying: set[str]) -> str:
    shown = {k: v for k, v in sorted(component.get("config", {}).items()) if k in varying}
    if not shown:
        return component["name"]
    return f"{component['name']}({', '.join(f'{k}={v}' for k, v in shown.items())})"


def _varying(comps: list[dict[str, Any]]) -> dict[str, set[str]]:
    vals: dict[tuple[str, str], set[str]] = defaultdict(set)
    names: dict[str, int] = defaultdict(int)
    for c in comps:
        names[c["name"]] += 1
        for k, v in c.get("config", {}).items():
            vals[(c["name"], k)].add(canonical_json(v))
    out: dict[str, set[str]] = defaultdict(set)
    for (name, k), vs in vals.items():
        if len(vs) > 1 or sum(1 for c in comps if c["name"] == name and k in
                              c.get("config", {})) < names[name]:
            out[name].add(k)
    return out


def t_quantile(df: int, q: float = 0.975) -> float:
    """Student-t quantile (scipy; the leaderboard's only statistics dependency)."""
    from scipy.stats import t

    return float(t.ppf(q, df))


def _stat(values: list[float | None], n_expected: int) -> Stat:
    if len(values) != n_expected or any(v is None for v in values):  # n: seeds with a value
        return Stat(None, None, sum(v is not None for v in values))
    vs = [float(v) for v in values if v is not None]
    mean = sum(vs) / len(vs)
    std = math.sqrt(sum((v - mean) ** 2 for v in vs) / (len(vs) - 1)) if len(vs) > 1 else 0.0
    ci = t_quantile(len(vs) - 1) * std / math.sqrt(len(vs)) if len(vs) > 1 else None
    return Stat(round(mean, 6), round(std, 6), len(vs),
                None if ci is None else round(ci, 6), tuple(round(v, 6) for v in vs))


def _metric_order(key: str) -> tuple[int, str]:
    a = aspect_of(key)
    return (ASPECTS.index(a) if a in ASPECTS else len(ASPECTS), key)


def card_name(rec: dict[str, Any]) -> str:
    """The method's card name (records since provenance), else the recipe's method name
    (which may be an import path such as ``negft:NegFineTune``)."""
    card = ((rec.get("info") or {}).get("method_provenance") or {}).get("card")
    return str(card) if card else str(rec["cell"]["method"]["name"])


def is_failed(rec: dict[str, Any]) -> bool:
    """Whether `rec` is the error record of a cell that raised (`cure4rec.runner.failures`)."""
    return rec.get("status") == "error"


def _build_section(key: str, title: str, recs: list[dict[str, Any]]) -> Section:
    seeds = tuple(sorted({int(r["seed"]) for r in recs}))
    methods = [dict(r["cell"]["method"], name=card_name(r)) for r in recs]
    varying = _varying([r["cell"]["model"] for r in recs] + methods)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r, meth in zip(recs, methods):
        role = "method" if r["kind"] == "method" else "reference"
        model = _label(r["cell"]["model"], varying.get(r["cell"]["model"]["name"], set()))
        method = _label(meth, varying.get(meth["name"], set()))
        if _view(r).get("reference_kind") == "method":
            method += OWN_REFERENCE_MARK
        groups[(model, role, method)].append(r)
    metrics = tuple(sorted({k for r in recs for k in r["metrics"]}, key=_metric_order))
    rows = []
    for (model, role, method), rs in sorted(groups.items(), key=lambda g: (
            g[0][0], g[0][1] != "reference", g[0][2])):
        rs = sorted(rs, key=lambda r: int(r["seed"]))
        failed = tuple((int(r["seed"]), str((r.get("error") or {}).get("type", "?")))
                       for r in rs if is_failed(r))
        rs = [r for r in rs if not is_failed(r)]
        row_seeds = tuple(int(r["seed"]) for r in rs)
        complete = row_seeds == seeds
        values = {m: _stat([r["metrics"].get(m) for r in rs] if complete else [],
                           len(seeds)) for m in metrics}
        rows.append(Row(model, method, role, row_seeds, values, failed))
    ok = [r for r in recs if not is_failed(r)] or recs
    splits = tuple(sorted({(str(r["split"].get("id", "")), str(r["split"].get("sha256", "")))
                           for r in ok}))
    ds = ok[0]["dataset"]
    dataset = tuple((k, str(ds.get(k, ""))) for k in ("name", "version", "sha256"))
    return Section(title, key, seeds, metrics, {m: direction_of(m) for m in metrics},
                   tuple(rows), protocol_of(recs[0]) or LEGACY_PROTOCOL, splits, dataset)


def build_leaderboard(records: Iterable[dict[str, Any]]) -> Leaderboard:
    """The leaderboard of `records` (any order; one record per config hash)."""
    from cure4rec.leaderboard.compat import check_comparable

    recs = sorted(records, key=lambda r: r["config_hash"])
    check_comparable(recs)
    by_section: dict[str, list[dict[str, Any]]] = defaultdict(list)
    titles: dict[str, str] = {}
    for r in recs:
        key, title = _section_key(r)
        by_section[key].append(r)
        titles[key] = title
    sections = tuple(_build_section(k, titles[k], by_section[k]) for k in sorted(by_section))
    versions = tuple(sorted({str(r.get("package", {}).get("version", "?")) for r in recs}))
    protocols = tuple(sorted({protocol_of(r) or LEGACY_PROTOCOL for r in recs}))
    return Leaderboard(fingerprint(recs), len(recs), versions, sections, protocols)


def target_value(section: Section, metric: str, model: str) -> float | None:
    """The ideal value of a `target` metric: 0 for gaps and lifts, 1 for ratios, else
    retrain's mean.

    Ratios, gaps and lifts are already referenced to retraining (catalogue: 1 = at seed
    noise, 0 = as retrain); any other target metric is compared with the retrain reference
    row of the same model (None if there is none).
    """
    name = metric.split(".", 1)[-1]
    if name.endswith(("_gap", "_lift")) or "_gap." in name or name in CALIBRATED:
        return 0.0
    if "_ratio" in name:
        return 1.0
    ref = [r.values[metric].mean for r in section.rows
           if r.role == "reference" and r.method == "retrain" and r.model == model]
    return ref[0] if ref else None


CALIBRATED = ("calibrated", "calibrated_pairs")
SEPARATION_ALPHA = 0.05


def welch_p(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Two-sided Welch t-test p-value of two seed samples (1.0 when it is undefined)."""
    from scipy.stats import ttest_ind

    if len(a) < 2 or len(b) < 2:
        return 1.0
    if max(a) == min(a) and max(b) == min(b):
        return 1.0 if a[0] == b[0] else 0.0
    with warnings.catch_warnings():  # seeds equal to ~6 digits: scipy warns, p is still right
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        p = float(ttest_ind(a, b, equal_var=False).pvalue)
    return 1.0 if math.isnan(p) else p


def best_rows(section: Section, metric: str) -> set[int]:
    """The method row with the best mean of `metric` (targets: closest to the ideal), only
    when it is separated from the runner-up: Welch's t-test over seeds, p < 0.05 (on the
    per-seed distances to the ideal for targets, whose mean must then also be the smaller).
    Nothing is marked when nothing is separated, with fewer than 2 seeds, or with ties.
    """
    d = section.directions.get(metric)
    vals: list[tuple[int, float, tuple[float, ...]]] = []
    for i, r in enumerate(section.rows):
        st = r.values[metric]
        if r.role != "method" or st.mean is None:
            continue
        if d == "target":
            goal = target_value(section, metric, r.model)
            if goal is not None:
                vals.append((i, abs(st.mean - goal), tuple(abs(v - goal) for v in st.values)))
        else:
            vals.append((i, st.mean, st.values))
    if d not in ("higher", "lower", "target") or not vals:
        return set()
    vals.sort(key=lambda t: -t[1] if d == "higher" else t[1])
    if len(vals) == 1:
        return set()
    (i0, m0, v0), (_, m1, v1) = vals[0], vals[1]
    if m0 == m1 or welch_p(v0, v1) >= SEPARATION_ALPHA:
        return set()
    if d == "target" and sum(v0) / len(v0) >= sum(v1) / len(v1):
        return set()  # closer by its mean but not by its seeds: the test separated it as worse
    return {i0}


def format_value(x: float | None) -> str:
    """A metric value for display (4 decimals; 1 decimal from 100 up)."""
    if x is None:
        return ""
    return f"{x:.1f}" if abs(x) >= 100 else f"{x:.4f}"


def format_stat(s: Stat) -> str:
    """`mean ± h`, h the 95% CI half-width over seeds (omitted for a single seed); empty for
    a missing value."""
    if s.mean is None:
        return ""
    if s.n <= 1 or s.ci is None:
        return format_value(s.mean)
    return f"{format_value(s.mean)} ± {format_value(s.ci)}"
