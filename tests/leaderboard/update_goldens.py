"""Rewrite the leaderboard golden files from the fixture records: `python
tests/leaderboard/update_goldens.py`. Run it only after a deliberate change of the
leaderboard's output, then review `git diff tests/leaderboard/golden` line by line: the
tests compare with these files and never write them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from tests.leaderboard._golden import GOLDEN, fixture_records, render  # noqa: E402


def main() -> int:
    for name, text in render(fixture_records()).items():
        path = GOLDEN / name
        old = path.read_text() if path.exists() else None
        path.write_text(text)
        print(f"{path}: {'unchanged' if old == text else 'rewritten'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
