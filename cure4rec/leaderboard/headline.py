"""The headline: one number per aspect, with a verdict, per dataset × forget setting × model.

Declared here and nowhere else (`COLUMNS`; add a `Column` to extend it). Each column lists
candidate metric keys, most preferred first, so a recipe evaluated at other cut-offs or an
older protocol still gets its column; a section shows a column only if one of its
candidates was measured there. Kinds of column:

- ``value``: the row's mean ± 95% CI half-width over seeds;
- ``delta``: the row minus the *retrain reference row* of the same model, paired by seed
  (per-seed differences, then mean ± CI); 0 = as retraining;
- ``verdict``: the calibrated completeness verdict over seeds (`verdict_text`).

Best (bold) only when Welch's test separates the best method row from the runner-up
(`cure4rec.leaderboard.build.best_rows`). Every other metric stays in the CSV and the HTML
detail blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cure4rec.leaderboard.build import Row, Section, Stat, best_rows, direction_of, t_quantile

METRICS_DOC = "../metrics.md"  # from docs/leaderboard/ (where the committed pages live)


@dataclass(frozen=True)
class Column:
    """One headline column: aspect, short title, candidate keys, kind, one-line legend."""

    aspect: str
    title: str
    candidates: tuple[str, ...]
    kind: str = "value"  # value | delta | verdict
    legend: str = ""


NDCG = ("utility.ndcg@20", "utility.ndcg@10")
COMPLETENESS = ("completeness.calibrated", "completeness.forgotten_rank_lift",
                "completeness.forgotten_rank_ratio")
UGF = ("fairness.ugf_ndcg@20", "fairness.ugf_ndcg@10")

COLUMNS: tuple[Column, ...] = (
    Column("utility", "NDCG", NDCG, "value",
           "retained users' test NDCG@20 (@10 if not measured); higher is better"),
    Column("utility", "ΔNDCG", NDCG, "delta",
           "NDCG minus the retrain reference's, paired by seed; 0 = as retraining"),
    Column("completeness", "calibrated", COMPLETENESS, "value",
           "calibrated completeness against N retrains: 0 = as a typical retrain, +1 "
           "remembers everything, −1 over-forgets (older protocols: the forgotten-rank "
           "lift / ratio instead)"),
    Column("completeness", "verdict", ("completeness.calibrated.verdict",), "verdict",
           "per-seed verdicts at α = 0.05 (remembers / indistinguishable / over-forgets): "
           "the verdict of a strict majority of seeds with its count, else 'mixed'"),
    # attribute requests (nothing deleted): the attribute-inference attack, chance AUC 0.5
    Column("completeness", "attribute AUC (strongest)",
           ("completeness.attr_auc_max", "completeness.attr_auc.gb"), "value",
           "attribute requests: the strongest attacker's AUC over the threat model's "
           "adversaries (served representation, top-k lists, before/after change; older "
           "records: the GB attacker on the user table); lower is better (chance 0.5)"),
    Column("efficiency", "speed-up", ("efficiency.speedup_vs_retrain",), "value",
           "retrain wall-clock seconds / unlearn wall-clock seconds; higher is better"),
    Column("efficiency", "CPU speed-up", ("efficiency.speedup_cpu_vs_retrain",), "value",
           "retrain CPU seconds / unlearn CPU seconds (sequential); higher is better"),
    Column("efficiency", "parallel CPU speed-up",
           ("efficiency.speedup_cpu_parallel_vs_retrain",), "value",
           "retrain CPU seconds / slowest retrained shard + non-shard work; higher is better"),
    Column("fairness", "ΔUGF", UGF, "delta",
           "user-group unfairness |A-IGF| (NDCG, active vs inactive) minus the retrain "
           "reference's, paired by seed; lower is better (< 0: fairer than retraining)"),
)

VERDICT_WORDS = {1: "remembers", 0: "indistinguishable", -1: "over-forgets"}
VERDICT_KEY = "completeness.calibrated.verdict"


def headline_columns(section: Section) -> list[tuple[Column, str]]:
    """(column, metric key) of the columns measured in `section`, in declared order."""
    present = set(section.metrics)
    out = []
    for col in COLUMNS:
        hit = next((k for k in col.candidates if k in present), None)
        if hit is not None:
            out.append((col, hit))
    return out


def headline_metrics(section: Section) -> list[str]:
    """The distinct metric keys the headline of `section` reads, in column order."""
    return list(dict.fromkeys(k for _, k in headline_columns(section)))


def models_of(section: Section) -> list[str]:
    """The section's models, in row order (one headline table each)."""
    return list(dict.fromkeys(r.model for r in section.rows))


def retrain_row(section: Section, model: str) -> Row | None:
    """The `retrain` reference row of `model` (what deltas are taken against)."""
    return next((r for r in section.rows if r.model == model and r.role == "reference"
                 and r.method == "retrain"), None)


def delta_stat(section: Section, row: Row, metric: str) -> Stat:
    """`row` minus the model's retrain reference row, per seed, as mean ± 95% CI."""
    ref = retrain_row(section, row.model)
    a = row.values[metric]
    if ref is None or a.mean is None or ref.values[metric].mean is None:
        return Stat(None, None, a.n)
    b = ref.values[metric]
    if len(a.values) != len(b.values):
        return Stat(None, None, a.n)
    d = [x - y for x, y in zip(a.values, b.values)]
    n = len(d)
    mean = sum(d) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in d) / (n - 1)) if n > 1 else 0.0
    ci = t_quantile(n - 1) * std / math.sqrt(n) if n > 1 else None
    return Stat(round(mean, 6), round(std, 6), n, None if ci is None else round(ci, 6),
                tuple(round(v, 6) for v in d))


def verdict_text(row: Row) -> str:
    """The row's verdict over seeds: the verdict of a strict majority of seeds with its
    count (``remembers 3/3``), else ``mixed`` with every count; empty without verdicts."""
    st = row.values.get(VERDICT_KEY)
    if st is None or st.mean is None or not st.values:
        return ""
    counts = {code: sum(1 for v in st.values if round(v) == code) for code in (1, 0, -1)}
    n = len(st.values)
    top = max(counts, key=lambda c: counts[c])
    if counts[top] * 2 > n:
        return f"{VERDICT_WORDS[top]} {counts[top]}/{n}"
    return "mixed (" + ", ".join(f"{counts[c]} {VERDICT_WORDS[c]}" for c in (1, 0, -1)
                                 if counts[c]) + ")"


def column_key(col: Column, metric: str) -> str:
    """The key a column's values are stored under in `column_section` (deltas: ``Δ`` +)."""
    return f"Δ{metric}" if col.kind == "delta" else metric


def column_section(section: Section, model: str) -> Section:
    """The rows of `model` with one value per headline column (deltas computed), so that
    `best_rows` marks the separated best of each column exactly as for stored metrics."""
    cols = headline_columns(section)
    rows = [r for r in section.rows if r.model == model]
    keys = [column_key(c, m) for c, m in cols]
    directions = {column_key(c, m): ("none" if c.kind == "verdict" else direction_of(m))
                  for c, m in cols}
    out = []
    for r in rows:
        vals = dict(r.values)
        for c, m in cols:
            if c.kind == "delta":
                vals[column_key(c, m)] = delta_stat(section, r, m)
        out.append(replace(r, values=vals))
    return replace(section, metrics=tuple(dict.fromkeys(keys)),
                   directions={**section.directions, **directions}, rows=tuple(out))


def best_of(section: Section) -> dict[str, set[int]]:
    """Column key -> indices (in `section.rows`) of the separated best method row."""
    return {k: best_rows(section, k) for k in section.metrics}


def failed_text(row: Row) -> str:
    """``failed: seed 1 (ValueError)`` for rows with error records, else empty."""
    if not row.failed:
        return ""
    return "failed: " + ", ".join(f"seed {s} ({t})" for s, t in row.failed)
