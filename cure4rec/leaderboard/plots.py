"""Deterministic PNG plots: completeness–utility trade-off (with Pareto front) and a radar.

What a plot shows is plain data (`tradeoff_data`, `radar_data`: tested without
matplotlib); drawing it (`draw_tradeoff`, `draw_radar`) uses matplotlib with the Agg
backend under fixed rcParams and no PNG metadata (no software version, no date), so
building twice gives byte-identical images with one matplotlib version.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from cure4rec.leaderboard.build import ASPECTS, Row, Section, aspect_of

PREFERRED = {
    "utility": ("utility.ndcg@20", "utility.ndcg@10", "utility.recall@20"),
    "completeness": ("completeness.topk_overlap.", "completeness.rbo.", "completeness.js."),
    "efficiency": ("efficiency.speedup_vs_retrain", "efficiency.unlearn_wall_s"),
    "fairness": ("fairness.ugf_ndcg@20", "fairness.ugf"),
}
RC: dict[str, Any] = {"font.family": "DejaVu Sans", "font.size": 8, "figure.dpi": 100, "savefig.dpi": 100,
      "svg.hashsalt": "cure4rec", "path.simplify": False, "axes.grid": True,
      "grid.alpha": 0.3, "figure.autolayout": False}


def primary_metric(section: Section, aspect: str) -> str | None:
    """The metric drawn for `aspect`: a preferred one if present, else the first ranked one."""
    ranked = [m for m in section.metrics if aspect_of(m) == aspect
              and section.directions[m] in ("higher", "lower")]
    for pref in PREFERRED.get(aspect, ()):
        hits = [m for m in ranked if m == pref or (pref.endswith(".") and m.startswith(pref))]
        if hits:
            return hits[0]
    return ranked[0] if ranked else None


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _mean(row: Row, metric: str) -> float:
    """The row's mean of `metric` (rows passed here were filtered by `_plot_rows`)."""
    value = row.values[metric].mean
    if value is None:
        raise ValueError(f"{row.method}: no value of {metric}")
    return value


def _plot_rows(section: Section, metrics: list[str]) -> list[Row]:
    return [r for r in section.rows if all(r.values[m].mean is not None for m in metrics)]


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated by another (both coordinates: higher is better)."""
    return [i for i, (x, y) in enumerate(points)
            if not any(x2 >= x and y2 >= y and (x2, y2) != (x, y) for x2, y2 in points)]


def tradeoff_data(section: Section) -> dict[str, Any] | None:
    """What the trade-off plot draws: completeness (x) vs utility (y) per row, Pareto front.

    Plain data (no matplotlib): ``x``/``y`` metric keys and directions, ``points`` as
    ``[label, role, x, y]`` in row order, ``front`` the method labels on the Pareto front
    (both axes oriented so that better is larger), sorted by (x, y) as the line is drawn.
    None when the section has no such pair of metrics or no row has both.
    """
    cx, uy = primary_metric(section, "completeness"), primary_metric(section, "utility")
    if cx is None or uy is None:
        return None
    rows = _plot_rows(section, [cx, uy])
    if not rows:
        return None
    sign = {m: 1.0 if section.directions[m] == "higher" else -1.0 for m in (cx, uy)}
    pts = [(_mean(r, cx), _mean(r, uy)) for r in rows]
    meth = [i for i, r in enumerate(rows) if r.role == "method"]
    front = pareto([(sign[cx] * pts[i][0], sign[uy] * pts[i][1]) for i in meth])
    on_front = sorted((pts[meth[i]], meth[i]) for i in front)
    return {"x": cx, "x_direction": section.directions[cx],
            "y": uy, "y_direction": section.directions[uy],
            "points": [[f"{r.model}/{r.label}", r.role, x, y] for r, (x, y) in zip(rows, pts)],
            "front": [f"{rows[i].model}/{rows[i].label}" for _, i in on_front]}


def radar_data(section: Section) -> dict[str, Any] | None:
    """What the radar draws: one axis per aspect (its primary metric), per row the min–max
    normalised value in the section (1 = best). None with < 3 axes or no complete row."""
    axes = [(a, m) for a in ASPECTS if (m := primary_metric(section, a)) is not None]
    if len(axes) < 3:
        return None
    rows = _plot_rows(section, [m for _, m in axes])
    if not rows:
        return None
    scores = [_normalised(section, rows, m) for _, m in axes]
    return {"axes": [[a, m] for a, m in axes],
            "series": [[f"{r.model}/{r.label}", r.role, [s[j] for s in scores]]
                       for j, r in enumerate(rows)]}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_tradeoff(data: dict[str, Any]) -> str:
    """Base64 PNG of `tradeoff_data`."""
    plt = _pyplot()
    with plt.rc_context(RC):  # type: ignore[arg-type]  # stubs want literal rc keys
        fig, ax = plt.subplots(figsize=(5.5, 4.0))
        pts = {}
        for label, role, x, y in data["points"]:
            pts[label] = (x, y)
            ax.scatter([x], [y], marker="s" if role == "reference" else "o", s=28)
            ax.annotate(label, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        fp = [pts[label] for label in data["front"]]
        if len(fp) > 1:
            ax.plot([p[0] for p in fp], [p[1] for p in fp], "--", lw=1, color="grey",
                    label="Pareto front")
            ax.legend(loc="best")
        ax.set_xlabel(f"{data['x']} ({data['x_direction']} is better)")
        ax.set_ylabel(f"{data['y']} ({data['y_direction']} is better)")
        ax.set_title("completeness–utility trade-off")
        fig.tight_layout()
        return _png(fig)


def draw_radar(data: dict[str, Any]) -> str:
    """Base64 PNG of `radar_data`."""
    plt = _pyplot()
    axes = data["axes"]
    angles = [2 * math.pi * i / len(axes) for i in range(len(axes))]
    with plt.rc_context(RC):  # type: ignore[arg-type]  # stubs want literal rc keys
        fig = plt.figure(figsize=(5.5, 4.5))
        ax = fig.add_subplot(projection="polar")
        for label, role, vals in data["series"]:
            ax.plot([*angles, angles[0]], [*vals, vals[0]], lw=1,
                    ls="--" if role == "reference" else "-", label=label)
        ax.set_xticks(angles)
        ax.set_xticklabels([f"{a}\n{m.split('.', 1)[1]}" for a, m in axes])
        ax.set_ylim(0, 1.05)
        ax.legend(loc="upper left", bbox_to_anchor=(1.05, 1.0), fontsize=6)
        ax.set_title("four aspects (1 = best in section)")
        fig.tight_layout()
        return _png(fig)


#: plot name (the <img> alt text) -> (data of a section, drawing of that data)
PLOTS = {"trade-off": (tradeoff_data, draw_tradeoff), "radar": (radar_data, draw_radar)}


def tradeoff_png(section: Section) -> str | None:
    """Base64 PNG of completeness (x) vs utility (y), Pareto front over method rows."""
    data = tradeoff_data(section)
    return None if data is None else draw_tradeoff(data)


def _normalised(section: Section, rows: list[Row], metric: str) -> list[float]:
    vals = [r.values[metric].mean for r in rows]
    lo, hi = min(vals), max(vals)  # type: ignore[type-var]
    if hi == lo:
        return [1.0] * len(vals)
    score = [(v - lo) / (hi - lo) for v in vals]  # type: ignore[operator]
    return score if section.directions[metric] == "higher" else [1.0 - s for s in score]


def radar_png(section: Section) -> str | None:
    """Base64 PNG radar of the four aspects (min–max normalised in the section; 1 = best)."""
    data = radar_data(section)
    return None if data is None else draw_radar(data)
