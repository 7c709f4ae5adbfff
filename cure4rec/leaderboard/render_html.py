"""One static HTML page: sortable tables (tiny vanilla JS) and plots as inline base64 PNGs.

Each section shows its headline table first (the Markdown's columns), then the plots, then
every metric grouped by aspect in collapsible `<details>` blocks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from cure4rec.leaderboard.build import (
    OWN_REFERENCE_NOTE,
    Leaderboard,
    Section,
    aspect_of,
    best_rows,
    format_stat,
)
from cure4rec.leaderboard.headline import headline_metrics
from cure4rec.leaderboard.plots import PLOTS
from cure4rec.leaderboard.render_md import ARROWS, aspect_legend, header_lines, uses_own_reference

STYLE = """body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3;cursor:pointer}td.l,th.l{text-align:left}
tr.ref td{font-style:italic;background:#fafafa}td.best{font-weight:bold}
img{max-width:48%;margin-right:1%}code{font-size:12px}
details{margin:.3em 0}summary{cursor:pointer;font-weight:bold}"""

SORTER = """document.querySelectorAll('table.sortable th').forEach(function(th){
 th.addEventListener('click',function(){
  var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,asc=th.dataset.asc!=='1';
  th.dataset.asc=asc?'1':'0';
  var rows=Array.prototype.slice.call(b.rows);
  rows.sort(function(x,y){
   var a=x.cells[i].dataset.v||x.cells[i].textContent,c=y.cells[i].dataset.v||y.cells[i].textContent;
   var na=parseFloat(a),nc=parseFloat(c);
   if(a===''&&c!=='')return 1;if(c===''&&a!=='')return -1;
   var r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);return asc?r:-r;});
  rows.forEach(function(r){b.appendChild(r);});});});"""


def _table(section: Section, metrics: list[str]) -> list[str]:
    e = html.escape
    head = "".join(f'<th title="{e(m)}: {e(section.directions[m])}">'
                   f'{e(m.split(".", 1)[1])} '
                   f'{ARROWS[section.directions[m]]}</th>' for m in metrics)
    out = ['<table class="sortable">',
           f'<thead><tr><th class="l">model</th><th class="l">method</th><th>n</th>{head}'
           "</tr></thead>", "<tbody>"]
    best = {m: best_rows(section, m) for m in metrics}
    for i, row in enumerate(section.rows):
        cls = ' class="ref"' if row.role == "reference" else ""
        cells = []
        for m in metrics:
            st = row.values[m]
            v = "" if st.mean is None else repr(st.mean)
            b = ' class="best"' if i in best[m] else ""
            cells.append(f'<td{b} data-v="{v}">{e(format_stat(st))}</td>')
        out.append(f'<tr{cls}><td class="l">{e(row.model)}</td><td class="l">{e(row.label)}'
                   f"</td><td>{len(row.seeds)}/{len(section.seeds)}</td>{''.join(cells)}</tr>")
    return out + ["</tbody></table>"]


#: (plot name, plot data) -> the <img> src; the default draws a PNG with matplotlib
ImageFn = Callable[[str, dict[str, Any]], str]


def png_image(name: str, data: dict[str, Any]) -> str:
    """The plot drawn by matplotlib as an inline base64 PNG."""
    return f"data:image/png;base64,{PLOTS[name][1](data)}"


def _section(s: Section, image: ImageFn) -> list[str]:
    e = html.escape
    out = [f"<h2>{e(s.title)}</h2>", f"<p>seeds: {e(', '.join(map(str, s.seeds)))}</p>"]
    headline = headline_metrics(s)
    if headline:
        out += ["<h4>headline</h4>", f"<p>{e(aspect_legend(headline))}</p>",
                *_table(s, headline)]
    for name, (data_of, _) in PLOTS.items():
        data = data_of(s)
        if data is not None:
            out.append(f'<img alt="{name}" src="{e(image(name, data))}">')
    for aspect in dict.fromkeys(aspect_of(m) for m in s.metrics):
        metrics = [m for m in s.metrics if aspect_of(m) == aspect]
        out += [f"<details><summary>all {e(aspect)} metrics ({len(metrics)})</summary>",
                *_table(s, metrics), "</details>"]
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
    out += ["</ul>", "<p>Mean ± 95% CI half-width over seeds (Student t). ↑ higher is better, ↓ lower "
            "is better, ◎ closest to the ideal is best (calibrated completeness, gaps and "
            "lifts: 0; ratios: 1; else the retrain reference); bold = best method, only when "
            "Welch's test over seeds separates it from the runner-up (p &lt; 0.05); empty = "
            "not measured on every seed. Click a column header to sort; open a "
            "<em>details</em> block for every metric of an aspect.</p>"]
    if uses_own_reference(lb):
        out.append(f"<p>{e(OWN_REFERENCE_NOTE)}</p>")
    for s in lb.sections:
        out += _section(s, image)
    out += [f"<script>{SORTER}</script>", "</body></html>"]
    return "\n".join(out) + "\n"
