"""Markdown rendering: a header with the fingerprint, then one headline table per section.

Only the headline metrics (`cure4rec.leaderboard.headline`) are shown, so each table stays
readable; every metric is in the CSV and in the HTML page's detail tables.
"""

from __future__ import annotations

from cure4rec.leaderboard.build import (
    OWN_REFERENCE_MARK,
    OWN_REFERENCE_NOTE,
    Leaderboard,
    Section,
    aspect_of,
    best_rows,
    format_stat,
)
from cure4rec.leaderboard.headline import headline_metrics

ARROWS = {"higher": "↑", "lower": "↓", "target": "◎", "none": ""}


def header_lines(lb: Leaderboard) -> list[str]:
    """Lines shared by every format: fingerprint, record count, package versions."""
    return [f"records: {lb.n_records}", f"fingerprint: sha256:{lb.fingerprint}",
            f"cure4rec versions: {', '.join(lb.versions)}",
            f"evaluation protocols: {'; '.join(lb.protocols)}"]


def column_title(section: Section, metric: str) -> str:
    """A metric's column heading: the key without its aspect prefix, plus its direction."""
    return f"{metric.split('.', 1)[1]} {ARROWS[section.directions[metric]]}".strip()


def aspect_legend(metrics: list[str]) -> str:
    """`aspect: col, col · aspect: col` — which aspect each headline column belongs to."""
    groups: dict[str, list[str]] = {}
    for m in metrics:
        groups.setdefault(aspect_of(m), []).append(m.split(".", 1)[1])
    return " · ".join(f"{a}: {', '.join(cols)}" for a, cols in groups.items())


def _table(section: Section, metrics: list[str]) -> list[str]:
    head = ["model", "method", "n"] + [column_title(section, m) for m in metrics]
    lines = [f"columns — {aspect_legend(metrics)}", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * 2 + ["--:"] * (len(head) - 2)) + "|"]
    best = {m: best_rows(section, m) for m in metrics}
    for i, row in enumerate(section.rows):
        cells = []
        for m in metrics:
            text = format_stat(row.values[m])
            cells.append(f"**{text}**" if text and i in best[m] else text)
        n = f"{len(row.seeds)}/{len(section.seeds)}"
        lines.append("| " + " | ".join([row.model, row.label, n, *cells]) + " |")
    return lines + [""]


def uses_own_reference(lb: Leaderboard) -> bool:
    """Whether any row was judged against its method's own algorithm (marked rows)."""
    return any(r.method.endswith(OWN_REFERENCE_MARK) for s in lb.sections for r in s.rows)


def render_markdown(lb: Leaderboard) -> str:
    """The leaderboard as Markdown headline tables (deterministic: no dates, sorted input)."""
    out = ["# cure4rec leaderboard", ""]
    out += [f"- {line}" for line in header_lines(lb)]
    out += ["", "Headline metrics only; all metrics (with CIs, seed-noise levels and reference "
            "values) are in `leaderboard.csv` and `leaderboard.html`. Mean ± 95% CI half-width over seeds "
            "(Student t; n = seeds present / seeds in the section). ↑ higher is better, ↓ "
            "lower is better, ◎ closest to the ideal is best (calibrated completeness, gaps "
            "and lifts: 0; ratios: 1; else the retrain reference); bold = best method, only "
            "when Welch's test over seeds separates it from the runner-up (p < 0.05). Empty "
            "cell: not measured on every seed. Definitions: docs/metrics.md.", ""]
    if uses_own_reference(lb):
        out += [OWN_REFERENCE_NOTE, ""]
    for s in lb.sections:
        out += [f"### {s.title}", "", f"seeds: {', '.join(map(str, s.seeds))}", ""]
        metrics = headline_metrics(s)
        out += _table(s, metrics) if metrics else ["(no headline metric measured)", ""]
    return "\n".join(out).rstrip() + "\n"
