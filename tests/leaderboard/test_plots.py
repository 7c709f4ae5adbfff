"""The PNG plots themselves (needs matplotlib, the `plot` extra; CI fails if it is missing).

Only version-independent properties are checked: deterministic bytes within one
matplotlib version, valid PNGs of the declared figure size, one per plot whose data exists.
What each plot shows is checked from its data in test_leaderboard.py.
"""

from __future__ import annotations

from cure4rec.leaderboard import render_all
from cure4rec.leaderboard.build import build_leaderboard
from cure4rec.leaderboard.plots import PLOTS, RC
from tests._optional import require
from tests.leaderboard._golden import IMG, SIZES, fixture_records, placeholder, png_size, strip_pngs


def test_html_embeds_one_deterministic_png_per_plot() -> None:
    require("matplotlib")
    recs = fixture_records()
    page = render_all(recs)["leaderboard.html"]
    assert render_all(list(reversed(recs)))["leaderboard.html"] == page  # byte-identical
    imgs = IMG.findall(page)
    expect = [name for s in build_leaderboard(recs).sections
              for name, (data_of, _) in PLOTS.items() for _chart in data_of(s)]
    assert [name for name, _ in imgs] == expect and expect
    dpi = RC["savefig.dpi"]
    for name, b64 in imgs:
        w, h = SIZES[name]
        assert png_size(b64) == (round(w * dpi), round(h * dpi)), name
    # everything but the PNG payloads is the matplotlib-free page
    assert strip_pngs(page) == render_all(recs, image=placeholder)["leaderboard.html"]


def test_efficiency_charts_keep_a_models_rows_together() -> None:
    """Rows are packed into charts by model (8 + 7 rows fit one chart of 18, the next 8 start
    a new one); a model with more rows than a chart holds is split on its own."""
    from types import SimpleNamespace

    from cure4rec.leaderboard.plots import _pack_by_model

    rows = [SimpleNamespace(model=m, label=f"{m}{i}") for m, n in
            (("bpr", 8), ("lightgcn", 7), ("wmf", 8)) for i in range(n)]
    parts = _pack_by_model(rows, 18)  # type: ignore[arg-type]
    assert [[r.label for r in p] for p in parts] == [
        [f"bpr{i}" for i in range(8)] + [f"lightgcn{i}" for i in range(7)],
        [f"wmf{i}" for i in range(8)]]
    big = [SimpleNamespace(model="a", label=f"a{i}") for i in range(20)] + [
        SimpleNamespace(model="b", label="b0")]
    assert [len(p) for p in _pack_by_model(big, 18)] == [18, 3]  # type: ignore[arg-type]
