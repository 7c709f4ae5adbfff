"""Deterministic PNG plots a reader can tell apart: per model, completeness vs utility with
95% CIs and the Pareto front; per section, the efficiency chart (log speed-up with CIs).

What a plot shows is plain data (`tradeoff_data`, `efficiency_data`: lists, one entry per
chart; tested without matplotlib); drawing it (`draw_tradeoff`, `draw_efficiency`) uses
matplotlib with the Agg backend under fixed rcParams and no PNG metadata (no software
version, no date), so building twice gives byte-identical images with one matplotlib
version. Colours are the Okabe–Ito palette (colour-blind safe); a chart never draws more
series than the palette tells apart (`MAX_SERIES`): more rows are split over charts.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from cure4rec.leaderboard.build import Row, Section, t_quantile, target_value
from cure4rec.leaderboard.headline import COMPLETENESS, NDCG, models_of

#: Okabe & Ito (2008) colour-blind-safe palette (black is kept for the references)
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#999999")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h")
MAX_SERIES = len(PALETTE)
MAX_BARS = 18  # rows of one efficiency chart (fixed size: labels stay legible)
SPEEDUPS = ("efficiency.speedup_cpu_vs_retrain", "efficiency.speedup_vs_retrain")
SIZES = {"trade-off": (6.5, 4.0), "efficiency": (6.5, 4.5)}  # inches
RC: dict[str, Any] = {"font.family": "DejaVu Sans", "font.size": 8, "figure.dpi": 100,
                      "savefig.dpi": 100, "svg.hashsalt": "cure4rec", "path.simplify": False,
                      "axes.grid": True, "grid.alpha": 0.3, "figure.autolayout": False}


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _has(row: Row, metric: str) -> bool:
    return row.values[metric].mean is not None


def _ci(row: Row, metric: str) -> float:
    return float(row.values[metric].ci or 0.0)


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated by another (both coordinates: higher is better)."""
    return [i for i, (x, y) in enumerate(points)
            if not any(x2 >= x and y2 >= y and (x2, y2) != (x, y) for x2, y2 in points)]


def _first(section: Section, candidates: tuple[str, ...]) -> str | None:
    return next((k for k in candidates if k in section.metrics), None)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def _pack_by_model(rows: list[Row], size: int) -> list[list[Row]]:
    """Rows in charts of at most `size`, a model's rows kept together where they fit (a
    model with more rows than `size` is split on its own)."""
    parts: list[list[Row]] = []
    for model in dict.fromkeys(r.model for r in rows):
        for block in _chunks([r for r in rows if r.model == model], size):
            if parts and len(parts[-1]) + len(block) <= size:
                parts[-1].extend(block)
            else:
                parts.append(list(block))
    return parts or [[]]


def _goodness(section: Section, metric: str, goal: float | None, row: Row) -> float:
    """The row's `metric` oriented so that larger is better (−distance to `goal` if set)."""
    x = float(row.values[metric].mean)  # type: ignore[arg-type]
    if goal is not None:
        return -abs(x - goal)
    return x if section.directions[metric] == "higher" else -x


def _point(row: Row, cx: str, uy: str, goal: float | None) -> list[Any]:
    """``[label, role, x, x_ci, y, y_ci]``; the retrain reference, whose completeness is
    the ideal by definition (0 = as a typical retrain), sits at the ideal when its record
    does not measure x (reference cells score utility and fairness only)."""
    if _has(row, cx):
        return [row.label, row.role, row.values[cx].mean, _ci(row, cx), row.values[uy].mean,
                _ci(row, uy)]
    return [row.label, row.role, goal, 0.0, row.values[uy].mean, _ci(row, uy)]


def tradeoff_data(section: Section) -> list[dict[str, Any]]:
    """One chart per model (and per `MAX_SERIES` method rows): completeness (x) vs
    utility (y) of every row with both, with 95% CI half-widths, the retrain reference
    marked, and ``front`` the method labels on the Pareto front (x judged by its distance
    to the ideal for ◎ metrics, y higher is better), sorted by x as the line is drawn.

    Points are ``[label, role, x, x_ci, y, y_ci]`` (`_point`). ``fallback`` is true when x is not the
    calibrated score (records before cure4rec-eval/2).
    """
    cx, uy = _first(section, COMPLETENESS), _first(section, NDCG)
    if cx is None or uy is None:
        return []
    out = []
    for model in models_of(section):
        # ◎ metrics (and older protocols' undirected ratio / lift): distance to the ideal
        goal = (None if section.directions[cx] in ("higher", "lower")
                else target_value(section, cx, model))
        rows = [r for r in section.rows if r.model == model and _has(r, uy) and (
            _has(r, cx) or (goal is not None and r.role == "reference"
                            and r.method == "retrain"))]
        refs = [r for r in rows if r.role == "reference"]
        meths = [r for r in rows if r.role == "method"]
        if not meths:
            continue
        parts = _chunks(meths, MAX_SERIES)
        for n, part in enumerate(parts):
            chart = refs + part
            pts = [(_goodness(section, cx, goal, r), float(r.values[uy].mean))  # type: ignore[arg-type]
                   for r in part]
            front = sorted((float(part[i].values[cx].mean), part[i].label)  # type: ignore[arg-type]
                           for i in pareto(pts))
            title = f"{model}: completeness vs utility"
            if len(parts) > 1:
                title += f" ({n + 1}/{len(parts)})"
            out.append({
                "title": title, "model": model, "x": cx, "x_direction": section.directions[cx],
                "x_ideal": goal, "y": uy, "y_direction": section.directions[uy],
                "fallback": cx != COMPLETENESS[0],
                "points": [_point(r, cx, uy, goal) for r in chart],
                "front": [label for _, label in front]})
    return out


def log_interval(values: tuple[float, ...]) -> tuple[float, float, float] | None:
    """(geometric mean, low, high) of positive per-seed ratios: mean ± 95% CI half-width
    of their log10 (Student t), back-transformed; None if a value is not positive."""
    if not values or min(values) <= 0:
        return None
    logs = [math.log10(v) for v in values]
    n = len(logs)
    mean = sum(logs) / n
    if n < 2:
        h = 0.0
    else:
        sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
        h = t_quantile(n - 1) * sd / math.sqrt(n)
    return tuple(float(f"{10 ** x:.6g}") for x in (mean, mean - h, mean + h))  # type: ignore[return-value]


def efficiency_data(section: Section) -> list[dict[str, Any]]:
    """Charts of at most `MAX_BARS` method rows (a model's rows on one chart where they
    fit): the speed-up vs retraining (CPU if measured,
    else wall clock) on a log axis — geometric mean over seeds with the 95% CI of the log
    speed-up (`log_interval`: ratios are compared multiplicatively) — one colour per model
    (≤ `MAX_SERIES`). Bars are ``[model, label, geo_mean, low, high]``."""
    key = _first(section, SPEEDUPS)
    if key is None:
        return []
    models = models_of(section)[:MAX_SERIES]
    rows = [r for r in section.rows if r.role == "method" and r.model in models
            and _has(r, key) and log_interval(r.values[key].values) is not None]
    if not rows:
        return []
    parts = _pack_by_model(rows, MAX_BARS)
    out = []
    for n, part in enumerate(parts):
        title = "speed-up vs retraining (log scale)"
        if len(parts) > 1:
            title += f" ({n + 1}/{len(parts)})"
        out.append({"title": title, "metric": key, "models": models,
                    "bars": [[r.model, r.label, *log_interval(r.values[key].values)]  # type: ignore[misc]
                             for r in part]})
    return out


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


REF_STYLE = {"retrain (reference)": ("*", 160), "original (reference)": ("X", 70)}


def draw_tradeoff(data: dict[str, Any]) -> str:
    """Base64 PNG of one `tradeoff_data` chart."""
    plt = _pyplot()
    with plt.rc_context(RC):  # type: ignore[arg-type]  # stubs want literal rc keys
        fig, ax = plt.subplots(figsize=SIZES["trade-off"])
        pts = {}
        k = 0
        for label, role, x, xci, y, yci in data["points"]:
            pts[label] = (x, y)
            if role == "reference":
                marker, size = REF_STYLE.get(label, ("P", 70))
                color = "black"
            else:
                marker, size, color = MARKERS[k % len(MARKERS)], 40, PALETTE[k % len(PALETTE)]
                k += 1
            ax.errorbar([x], [y], xerr=[xci], yerr=[yci], fmt="none", ecolor=color,
                        elinewidth=0.8, capsize=2, alpha=0.8)
            ax.scatter([x], [y], marker=marker, s=size, color=color, edgecolors="black",
                       linewidths=0.4, label=label, zorder=3)
        fp = [pts[label] for label in data["front"]]
        if len(fp) > 1:
            ax.plot([p[0] for p in fp], [p[1] for p in fp], "--", lw=1, color="grey",
                    label="Pareto front (methods)", zorder=2)
        if data["x_ideal"] is not None:
            ax.axvline(data["x_ideal"], color="grey", lw=0.6, ls=":")
        how = (f"{data['x_direction']} is better" if data["x_ideal"] is None
               else f"closest to {data['x_ideal']:g} is best")
        note = " — older protocol: not the calibrated score" if data["fallback"] else ""
        ax.set_xlabel(f"{data['x']} ({how}){note}")
        ax.set_ylabel(f"{data['y']} ({data['y_direction']} is better)")
        ax.set_title(data["title"] + " (error bars: 95% CI over seeds)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        fig.tight_layout()
        return _png(fig)


def draw_efficiency(data: dict[str, Any]) -> str:
    """Base64 PNG of one `efficiency_data` chart."""
    plt = _pyplot()
    colors = {m: PALETTE[i] for i, m in enumerate(data["models"])}
    bars = data["bars"]
    with plt.rc_context(RC):  # type: ignore[arg-type]  # stubs want literal rc keys
        fig, ax = plt.subplots(figsize=SIZES["efficiency"])
        ys = list(range(len(bars)))[::-1]
        seen: set[str] = set()
        for y, (model, _label, mean, lo, hi) in zip(ys, bars):
            ax.errorbar([mean], [y], xerr=[[mean - lo], [hi - mean]], fmt="o",
                        color=colors[model], ecolor=colors[model], capsize=2,
                        label=None if model in seen else model)
            seen.add(model)
        ax.set_xscale("log")
        ax.axvline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(ys)
        ax.set_yticklabels([f"{b[0]} / {b[1]}" for b in bars])
        ax.set_xlabel(f"{data['metric']} (× faster than retraining; 1 = as slow)")
        # Two lines: the one-line title ran past the figure's right edge.
        ax.set_title(data["title"] + "\ngeometric mean, 95% CI over seeds", fontsize=10)
        ax.legend(loc="lower right", fontsize=7)
        fig.tight_layout()
        return _png(fig)


def tradeoff_note(section: Section) -> str | None:
    """A note under the trade-off plots of an older-protocol section, else None."""
    cx = _first(section, COMPLETENESS)
    if cx is None or cx == COMPLETENESS[0]:
        return None
    return (f"Older protocol: these records have no calibrated completeness; the trade-off "
            f"plots use {cx} instead (judged by its distance to the ideal).")


#: plot name (the <img> alt text) -> (charts of a section, drawing of one chart)
PLOTS = {"trade-off": (tradeoff_data, draw_tradeoff),
         "efficiency": (efficiency_data, draw_efficiency)}
PLOT_NOTES = {"trade-off": tradeoff_note}

