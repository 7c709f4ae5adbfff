"""One static HTML page: sortable tables (tiny vanilla JS) and plots as inline base64 PNGs.

Each section shows its headline table first (the Markdown's columns), then the plots, then
every metric grouped by aspect in collapsible `<details>` blocks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cure4rec.leaderboard.build import (
    OWN_REFERENCE_NOTE,
    Leaderboard,
    Section,
    aspect_of,
    best_rows,
    format_stat,
    target_value,
)
from cure4rec.leaderboard.headline import (
    COLUMNS,
    METRICS_DOC,
    best_of,
    column_key,
    column_section,
    failed_text,
    headline_columns,
    models_of,
)
from cure4rec.leaderboard.plots import PLOT_NOTES, PLOTS
from cure4rec.leaderboard.render_md import (
    ARROWS,
    INTRO,
    cell_text,
    citation_lines,
    header_lines,
    headline_title,
    split_lines,
    uses_own_reference,
)

STYLE = """body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3;cursor:pointer}td.l,th.l{text-align:left}
tbody.refs td{font-style:italic;background:#f4f4f4;color:#555}
tbody.refs tr:last-child td{border-bottom:3px double #888}td.best{font-weight:bold}
tr.failed td{background:#fde8e8}span.err{color:#a00;font-style:normal}
td.vremembers{color:#b35806}td.vover-forgets{color:#542788}td.vindistinguishable{color:#1b7837}
dl.legend{font-size:13px}dl.legend dt{font-weight:bold;float:left;clear:left;width:13em}
dl.legend dd{margin-left:14em}
img{max-width:48%;margin-right:1%}code{font-size:12px}p.note{font-size:12px;color:#555}
pre.cite{background:#f6f6f6;padding:.5em;font-size:12px;user-select:all}
details{margin:.3em 0}summary{cursor:pointer;font-weight:bold}"""

SORTER = """document.querySelectorAll('table.sortable th').forEach(function(th){
 th.addEventListener('click',function(){
  var t=th.closest('table'),b=t.tBodies[t.tBodies.length-1],i=th.cellIndex,asc=th.dataset.asc!=='1';
  th.dataset.asc=asc?'1':'0';
  var rows=Array.prototype.slice.call(b.rows);
  rows.sort(function(x,y){
   var a=x.cells[i].dataset.v||x.cells[i].textContent,c=y.cells[i].dataset.v||y.cells[i].textContent;
   var na=parseFloat(a),nc=parseFloat(c);
   if(a===''&&c!=='')return 1;if(c===''&&a!=='')return -1;
   var r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);return asc?r:-r;});
  rows.forEach(function(r){b.appendChild(r);});});});"""


def sort_value(section: Section, row_index: int, metric: str) -> str:
    """What a cell sorts by: the mean; for ◎ columns the distance to the ideal, so that
    sorting puts the closest-to-target rows first (not the smallest raw values)."""
    row = section.rows[row_index]
    st = row.values[metric]
    if st.mean is None:
        return ""
    if section.directions.get(metric) == "target":
        goal = target_value(section, metric, row.model)
        if goal is not None:
            return repr(round(abs(st.mean - goal), 6))
    return repr(st.mean)


def _rows(section: Section, indices: list[int], cells_of: Callable[[int], list[str]]
          ) -> list[str]:
    e = html.escape
    out = []
    for i in indices:
        row = section.rows[i]
        cls = ["ref"] if row.role == "reference" else []
        if row.failed:
            cls.append("failed")
        attr = f' class="{" ".join(cls)}"' if cls else ""
        n = f"{len(row.seeds)}/{len(section.seeds)}"
        if row.failed:
            n += f' <span class="err">{e(failed_text(row))}</span>'
        out.append(f'<tr{attr}><td class="l">{e(row.label)}</td><td>{n}</td>'
                   f"{''.join(cells_of(i))}</tr>")
    return out


def _grouped_body(section: Section, cells_of: Callable[[int], list[str]],
                  indices: list[int] | None = None) -> list[str]:
    """References in their own (unsorted) tbody above the methods' (sortable) tbody."""
    idx = list(range(len(section.rows))) if indices is None else indices
    refs = [i for i in idx if section.rows[i].role == "reference"]
    meths = [i for i in idx if section.rows[i].role != "reference"]
    out = []
    if refs:
        out += ['<tbody class="refs">', *_rows(section, refs, cells_of), "</tbody>"]
    return out + ['<tbody class="methods">', *_rows(section, meths, cells_of), "</tbody>"]


def _table(section: Section, metrics: list[str], model: str) -> list[str]:
    """A detail table: every metric of `metrics` for the rows of `model`."""
    e = html.escape
    head = "".join(f'<th title="{e(m)}: {e(section.directions[m])}">'
                   f'{e(m.split(".", 1)[1])} '
                   f'{ARROWS[section.directions[m]]}</th>' for m in metrics)
    idx = [i for i, r in enumerate(section.rows) if r.model == model]
    # the best of this table: among the rows of `model` (as the headline tables mark it)
    own = replace(section, rows=tuple(section.rows[i] for i in idx))
    best = {m: {idx[j] for j in best_rows(own, m)} for m in metrics}

    def cells(i: int) -> list[str]:
        out = []
        for m in metrics:
            b = ' class="best"' if i in best[m] else ""
            out.append(f'<td{b} data-v="{sort_value(section, i, m)}">'
                       f"{e(format_stat(section.rows[i].values[m]))}</td>")
        return out

    return ['<table class="sortable">',
            f'<thead><tr><th class="l">method</th><th>n</th>{head}</tr></thead>',
            *_grouped_body(section, cells, idx), "</table>"]


def _headline_table(section: Section, model: str) -> list[str]:
    e = html.escape
    sub = column_section(section, model)
    cols = headline_columns(section)
    best = best_of(sub)
    head = "".join(f'<th title="{e(c.legend)}">{e(headline_title(section, c, m))}</th>'
                   for c, m in cols)

    def cells(i: int) -> list[str]:
        out = []
        for c, m in cols:
            key = column_key(c, m)
            b = ' class="best"' if i in best.get(key, set()) else ""
            text = cell_text(sub, i, c, m, best)
            v = text if c.kind == "verdict" else sort_value(sub, i, key)
            cls = b if c.kind != "verdict" else f' class="verdict v{_verdict_class(text)}"'
            out.append(f'<td{cls} data-v="{e(v)}">{e(text)}</td>')
        return out

    return ['<table class="sortable headline">',
            f'<thead><tr><th class="l">method</th><th>n</th>{head}</tr></thead>',
            *_grouped_body(sub, cells), "</table>"]


def _verdict_class(text: str) -> str:
    return text.split(" ", 1)[0] if text else "none"


#: (plot name, plot data) -> the <img> src; the default draws a PNG with matplotlib
ImageFn = Callable[[str, dict[str, Any]], str]


def png_image(name: str, data: dict[str, Any]) -> str:
    """The plot drawn by matplotlib as an inline base64 PNG."""
    return f"data:image/png;base64,{PLOTS[name][1](data)}"


def _section(s: Section, image: ImageFn, version: str) -> list[str]:
    e = html.escape
    out = [f"<h2>{e(s.title)}</h2>",
           f"<p>protocol: <code>{e(s.protocol)}</code> · seeds: "
           f"{e(', '.join(map(str, s.seeds)))}</p>"]
    if s.splits:
        out += ["<ul class=\"splits\">", *(f"<li><code>{e(line)}</code></li>"
                                           for line in split_lines(s)), "</ul>"]
    models = models_of(s)
    if headline_columns(s):
        for model in models:
            out += [f"<h3>{e(model)}</h3>", *_headline_table(s, model)]
    else:
        out.append("<p>(no headline metric measured)</p>")
    for name, (data_of, _) in PLOTS.items():
        for data in data_of(s):
            out.append(f'<img alt="{e(name)}" title="{e(data["title"])}" '
                       f'src="{e(image(name, data))}">')
        note = PLOT_NOTES.get(name, lambda _s: None)(s)
        if note:
            out.append(f'<p class="note">{e(note)}</p>')
    for model in models:
        for aspect in dict.fromkeys(aspect_of(m) for m in s.metrics):
            metrics = [m for m in s.metrics if aspect_of(m) == aspect]
            out += [f"<details><summary>{e(model)}: all {e(aspect)} metrics "
                    f"({len(metrics)})</summary>", *_table(s, metrics, model), "</details>"]
    cite = citation_lines(s, version)
    if cite:
        out += ["<details><summary>cite this split</summary>",
                f"<pre class=\"cite\">{e(chr(10).join(cite[1:-1]))}</pre>", "</details>"]
    return out


def render_html(lb: Leaderboard, image: ImageFn = png_image) -> str:
    """The leaderboard page (deterministic bytes: no dates, fixed plot settings).

    `image` turns each plot's data into its <img> src (tests pass a structural description
    instead of the matplotlib PNG).
    """
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>cure4rec leaderboard</title>", f"<style>{STYLE}</style></head><body>",
           "<h1>cure4rec leaderboard</h1>", "<ul>"]
    out += [f"<li><code>{e(line)}</code></li>" for line in header_lines(lb)]
    out += ["</ul>", f"<p>{e(INTRO)} Click a column header to sort the methods (◎ columns: "
            "by distance to the ideal).</p>",
            f'<p class="legend">Columns (definitions: <a href="{METRICS_DOC}">'
            "docs/metrics.md</a>):</p>", '<dl class="legend">']
    out += [f"<dt>{e(c.aspect)} · {e(c.title)}</dt><dd>{e(c.legend)}</dd>" for c in COLUMNS]
    out.append("</dl>")
    if uses_own_reference(lb):
        out.append(f"<p>{e(OWN_REFERENCE_NOTE)}</p>")
    version = lb.versions[0] if len(lb.versions) == 1 else ""
    for s in lb.sections:
        out += _section(s, image, version)
    out += [f"<script>{SORTER}</script>", "</body></html>"]
    return "\n".join(out) + "\n"
