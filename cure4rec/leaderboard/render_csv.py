"""CSV rendering: one tidy row per (section, model, method, metric) that has a value.

A metric no seed of a row reports (e.g. a method's detail key on the `original` row) gets
no line; one only some seeds report keeps its line, with `n` < `n_expected` and an empty
mean. The evaluation protocol is its own column, not repeated in the section title.
"""

from __future__ import annotations

import csv
import io

from cure4rec.leaderboard.build import Leaderboard, aspect_of

COLUMNS = ("section", "protocol", "model", "method", "role", "metric", "aspect", "direction", "n",
           "n_expected", "mean", "std", "ci95")


def render_csv(lb: Leaderboard) -> str:
    """The leaderboard as CSV (empty mean/std where coverage is partial)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for s in lb.sections:
        suffix = f" · {s.protocol}"
        title = s.title[:-len(suffix)] if s.protocol and s.title.endswith(suffix) else s.title
        for row in s.rows:
            for m in s.metrics:
                st = row.values[m]
                if st.mean is None and st.n == 0 and len(row.seeds) == len(s.seeds):
                    continue  # no seed reports it: not a metric of this row
                w.writerow([title, s.protocol, row.model, row.method, row.role, m, aspect_of(m),
                            s.directions[m], len(row.seeds), len(s.seeds),
                            "" if st.mean is None else repr(st.mean),
                            "" if st.std is None else repr(st.std),
                            "" if st.ci is None else repr(st.ci)])
    return buf.getvalue()
