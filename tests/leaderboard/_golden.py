"""What the leaderboard goldens hold, shared by the tests and `update_goldens.py`.

The goldens are independent of matplotlib: the HTML golden has each plot's <img> src
replaced by a structural placeholder (`plot:<name>`), and `plots.json` holds the data each
plot draws (`cure4rec.leaderboard.plots.PLOTS`), per section. They are written only by
`python tests/leaderboard/update_goldens.py` (review the diff by hand), never by a test.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "records"
GOLDEN = Path(__file__).parent / "golden"
NAMES = ("leaderboard.md", "leaderboard.csv", "leaderboard.html", "plots.json")
PNG_SRC = re.compile(r'<img alt="([^"]+)"( title="[^"]*")? '
                     r'src="data:image/png;base64,[A-Za-z0-9+/=]*">')
IMG = re.compile(r'<img alt="([^"]+)"(?: title="[^"]*")? '
                 r'src="data:image/png;base64,([A-Za-z0-9+/=]*)">')
SIZES = {"trade-off": (6.5, 4.0), "efficiency": (6.5, 4.5)}  # inches, as drawn in plots.py


def png_size(b64: str) -> tuple[int, int]:
    """(width, height) from the IHDR of a base64 PNG (asserting it is one)."""
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    return struct.unpack(">II", raw[16:24])


def placeholder(name: str, data: dict[str, Any]) -> str:
    """The <img> src of the goldens: the plot's name only (its data is in plots.json)."""
    return f"plot:{name}"


def strip_pngs(page: str) -> str:
    """A page with every inline PNG replaced by its `placeholder`."""
    return PNG_SRC.sub(lambda m: f'<img alt="{m[1]}"{m[2] or ""} src="plot:{m[1]}">', page)


def fixture_records() -> list[dict[str, Any]]:
    from cure4rec.runner.records import load_records

    return load_records(sorted(FIXTURES.glob("**/*.json")))


def plot_data(records: list[dict[str, Any]]) -> str:
    """JSON of every section's plot data, keyed by section title then plot name."""
    from cure4rec.leaderboard import build_leaderboard
    from cure4rec.leaderboard.plots import PLOTS

    out = {s.title: {name: data_of(s) for name, (data_of, _) in PLOTS.items()}
           for s in build_leaderboard(records).sections}
    return json.dumps(out, sort_keys=True, indent=1) + "\n"


def render(records: list[dict[str, Any]]) -> dict[str, str]:
    """Every golden's expected content for `records` (no matplotlib involved)."""
    from cure4rec.leaderboard import render_all

    return {**render_all(records, image=placeholder), "plots.json": plot_data(records)}
