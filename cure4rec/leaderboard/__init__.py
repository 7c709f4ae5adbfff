"""The leaderboard: a tested pure function of run records, rendered as Markdown, CSV, HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cure4rec.leaderboard.build import Leaderboard, build_leaderboard, fingerprint

__all__ = ["Leaderboard", "build_leaderboard", "fingerprint", "render_all", "write_leaderboard"]


def render_all(records: list[dict[str, Any]], image: Any = None) -> dict[str, str]:
    """File name -> content of every leaderboard output for `records`.

    `image` (plot name, plot data) -> <img> src replaces the matplotlib PNGs of the HTML
    (see `cure4rec.leaderboard.render_html.render_html`).
    """
    from cure4rec.leaderboard.render_csv import render_csv
    from cure4rec.leaderboard.render_html import render_html
    from cure4rec.leaderboard.render_md import render_markdown

    lb = build_leaderboard(records)
    return {"leaderboard.md": render_markdown(lb), "leaderboard.csv": render_csv(lb),
            "leaderboard.html": render_html(lb) if image is None else render_html(lb, image)}


def write_leaderboard(records: list[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Write the Markdown, CSV and HTML leaderboards of `records` into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_all(records).items():
        p = out / name
        p.write_bytes(text.encode("utf-8"))
        paths.append(p)
    return paths
