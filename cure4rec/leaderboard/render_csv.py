"""CSV rendering: one tidy row per (section, model, method, metric)."""

from __future__ import annotations

import csv
import io

from cure4rec.leaderboard.build import Leaderboard, aspect_of

COLUMNS = ("section", "model", "method", "role", "metric", "aspect", "direction", "n",
           "n_expected", "mean", "std", "ci95")


def render_csv(lb: Leaderboard) -> str:
    """The leaderboard as CSV (empty mean/std where coverage is partial)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for s in lb.sections:
        for row in s.rows:
            for m in s.metrics:
                st = row.values[m]
                w.writerow([s.title, row.model, row.method, row.role, m, aspect_of(m),
                            s.directions[m], len(row.seeds), len(s.seeds),
                            "" if st.mean is None else repr(st.mean),
                            "" if st.std is None else repr(st.std),
                            "" if st.ci is None else repr(st.ci)])
    return buf.getvalue()
