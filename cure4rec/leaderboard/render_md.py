"""Markdown rendering: a header with the fingerprint, then one table per section and aspect."""

from __future__ import annotations

from cure4rec.leaderboard.build import (
    ASPECTS,
    Leaderboard,
    Section,
    aspect_of,
    best_rows,
    format_stat,
)

ARROWS = {"higher": "↑", "lower": "↓", "target": "◎", "none": ""}


def header_lines(lb: Leaderboard) -> list[str]:
    """Lines shared by every format: fingerprint, record count, package versions."""
    return [f"records: {lb.n_records}", f"fingerprint: sha256:{lb.fingerprint}",
            f"cure4rec versions: {', '.join(lb.versions)}"]


def _table(section: Section, aspect: str) -> list[str]:
    metrics = [m for m in section.metrics if aspect_of(m) == aspect
               and section.directions[m] != "none"]
    if not metrics:
        return []
    head = ["model", "method", "n"] + [f"{m.split('.', 1)[1]} {ARROWS[section.directions[m]]}"
                                       .strip() for m in metrics]
    lines = [f"#### {aspect}", "", "| " + " | ".join(head) + " |",
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


def render_markdown(lb: Leaderboard) -> str:
    """The whole leaderboard as Markdown (deterministic: no dates, sorted input)."""
    out = ["# cure4rec leaderboard", ""]
    out += [f"- {line}" for line in header_lines(lb)]
    out += ["", "Mean ± std over seeds (n = seeds present / seeds in the section). "
            "↑ higher is better, ↓ lower is better, ◎ closest to the retrain reference is "
            "best; bold = best method. Empty cell: not measured on every seed. Reference-only "
            "values (direction none) are in the CSV and HTML.", ""]
    for s in lb.sections:
        out += [f"### {s.title}", "", f"seeds: {', '.join(map(str, s.seeds))}", ""]
        for aspect in (*ASPECTS, *sorted({aspect_of(m) for m in s.metrics} - set(ASPECTS))):
            out += _table(s, aspect)
    return "\n".join(out).rstrip() + "\n"
