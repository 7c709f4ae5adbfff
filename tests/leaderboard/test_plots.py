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
