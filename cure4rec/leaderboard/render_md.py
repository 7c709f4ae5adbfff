"""Markdown rendering: a header, the column legend, then per section one headline table per
model (`cure4rec.leaderboard.headline`), its protocol and the citation of its split(s).

Only the headline columns are shown, so each table stays readable; every metric is in the
CSV and in the HTML page's detail blocks.
"""

from __future__ import annotations

from cure4rec.leaderboard.build import (
    LEGACY_PROTOCOL,
    OWN_REFERENCE_MARK,
    OWN_REFERENCE_NOTE,
    Leaderboard,
    Section,
    aspect_of,
    format_stat,
)
from cure4rec.leaderboard.cite import bibtex
from cure4rec.leaderboard.headline import (
    COLUMNS,
    METRICS_DOC,
    Column,
    best_of,
    column_key,
    column_section,
    failed_text,
    headline_columns,
    models_of,
    verdict_text,
)

ARROWS = {"higher": "↑", "lower": "↓", "target": "◎", "none": ""}


def header_lines(lb: Leaderboard) -> list[str]:
    """Lines shared by every format: fingerprint, record count, package versions."""
    return [f"records: {lb.n_records}", f"fingerprint: sha256:{lb.fingerprint}",
            f"cure4rec versions: {', '.join(lb.versions)}",
            f"evaluation protocols: {'; '.join(lb.protocols)}"]


def column_title(section: Section, metric: str) -> str:
    """A metric's column heading: the key without its aspect prefix, plus its direction."""
    return f"{metric.split('.', 1)[1]} {ARROWS[section.directions[metric]]}".strip()


def headline_title(section: Section, col: Column, metric: str) -> str:
    """A headline column's heading: its title (the cut-off / fallback key when it is not
    the first candidate), plus the direction arrow."""
    title = col.title
    if col.kind != "verdict":
        short = metric.split(".", 1)[1]
        if col.title in ("NDCG", "ΔNDCG"):
            title = f"{col.title}@{short.rsplit('@', 1)[1]}"
        elif metric != col.candidates[0]:
            title = f"{short} (older protocol)"
    arrow = "" if col.kind == "verdict" else ARROWS[section.directions[metric]]
    return f"{col.aspect} · {title} {arrow}".strip()


def aspect_legend(metrics: list[str]) -> str:
    """`aspect: col, col · aspect: col` — which aspect each detail column belongs to."""
    groups: dict[str, list[str]] = {}
    for m in metrics:
        groups.setdefault(aspect_of(m), []).append(m.split(".", 1)[1])
    return " · ".join(f"{a}: {', '.join(cols)}" for a, cols in groups.items())


def legend_lines() -> list[str]:
    """One line per headline column: `aspect · title` — its definition."""
    return [f"{c.aspect} · {c.title} — {c.legend}" for c in COLUMNS]


def cell_text(section: Section, row_index: int, col: Column, metric: str,
              best: dict[str, set[int]]) -> str:
    """The text of one headline cell (before any Markdown/HTML emphasis)."""
    row = section.rows[row_index]
    if col.kind == "verdict":
        return verdict_text(row)
    return format_stat(row.values[column_key(col, metric)])


def n_text(section: Section, row_index: int) -> str:
    """Seeds present / seeds in the section, plus failed seeds."""
    row = section.rows[row_index]
    out = f"{len(row.seeds)}/{len(section.seeds)}"
    return f"{out} · {failed_text(row)}" if row.failed else out


def _model_table(section: Section, model: str) -> list[str]:
    sub = column_section(section, model)
    cols = headline_columns(section)
    head = ["method", "n"] + [headline_title(section, c, m) for c, m in cols]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|"]
    best = best_of(sub)
    methods_started = False
    for i, row in enumerate(sub.rows):
        if row.role == "method" and not methods_started:
            methods_started = True
            if i > 0:  # references above, methods below a labelled rule
                lines.append("| *— methods —* |" + " |" * (len(head) - 1))
        cells = []
        for c, m in cols:
            text = cell_text(sub, i, c, m, best)
            if text and i in best.get(column_key(c, m), set()):
                text = f"**{text}**"
            cells.append(text)
        label = f"*{row.label}*" if row.role == "reference" else row.label
        lines.append("| " + " | ".join([label, n_text(sub, i), *cells]) + " |")
    return lines + [""]


def citation_lines(section: Section, version: str = "") -> list[str]:
    """A fenced BibTeX-style block citing every forget split of the section."""
    ds = dict(section.dataset)
    name = f"{ds.get('name', '')}@{ds.get('version', '')}" if ds.get("name") else ""
    protocol = "" if section.protocol == LEGACY_PROTOCOL else section.protocol
    entries = [bibtex(sid, sha, dataset=name, dataset_sha256=ds.get("sha256", ""),
                      version=version, protocol=protocol)
               for sid, sha in section.splits if sid]
    return ["```bibtex", *"\n\n".join(entries).splitlines(), "```"] if entries else []


def split_lines(section: Section) -> list[str]:
    """`split <id> sha256 <hash>` per forget split of the section."""
    return [f"split {sid} · sha256 {sha}" for sid, sha in section.splits if sid]


def uses_own_reference(lb: Leaderboard) -> bool:
    """Whether any row was judged against its method's own algorithm (marked rows)."""
    return any(r.method.endswith(OWN_REFERENCE_MARK) for s in lb.sections for r in s.rows)


INTRO = ("Headline: one number per aspect per method, mean ± 95% CI half-width over seeds "
         "(Student t; n = seeds present / seeds in the section), one table per model. ↑ "
         "higher is better, ↓ lower is better, ◎ closest to the ideal is best (calibrated "
         "completeness, gaps and lifts: 0; ratios: 1). Bold = best method of the column, "
         "only when Welch's test over seeds separates it from the runner-up (p < 0.05). "
         "Reference rows (italic) sit above the methods. Empty cell: not measured on every "
         "seed (or the cell failed). Every metric is in `leaderboard.csv` and in the HTML "
         "page's detail blocks.")


def render_markdown(lb: Leaderboard) -> str:
    """The leaderboard as Markdown headline tables (deterministic: no dates, sorted input)."""
    out = ["# cure4rec leaderboard", ""]
    out += [f"- {line}" for line in header_lines(lb)]
    out += ["", INTRO, "", f"Columns (definitions: [docs/metrics.md]({METRICS_DOC})):", ""]
    out += [f"- {line}" for line in legend_lines()]
    out += [""]
    if uses_own_reference(lb):
        out += [OWN_REFERENCE_NOTE, ""]
    version = lb.versions[0] if len(lb.versions) == 1 else ""
    for s in lb.sections:
        out += [f"## {s.title}", "", f"protocol: {s.protocol} · seeds: "
                f"{', '.join(map(str, s.seeds))}", ""]
        out += [f"- {line}" for line in split_lines(s)] + ([""] if s.splits else [])
        if headline_columns(s):
            for model in models_of(s):
                out += [f"### {model}", "", *_model_table(s, model)]
        else:
            out += ["(no headline metric measured)", ""]
        cite = citation_lines(s, version)
        if cite:
            out += ["<details><summary>cite this split</summary>", "", *cite, "",
                    "</details>", ""]
    return "\n".join(out).rstrip() + "\n"
