"""Comparable records only: a section never mixes metric sets.

Protocols never share a section (the protocol is part of the section key). Records without
a protocol (before ``cure4rec-eval/2``) can still disagree on what they measured — e.g. an
outside method's records from another metric version carrying the forgotten-rank *lift*
where the built-in rows carry the *ratio*, which used to switch a headline column and blank
every built-in row. `check_comparable` refuses such a mix with a one-line error naming the
offending records: within a section, every successful method record must resolve each
headline column to the same metric key (or lack it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cure4rec.errors import DataError


def _resolve(metrics: dict[str, Any], candidates: tuple[str, ...]) -> str | None:
    return next((k for k in candidates if k in metrics), None)


def conflicts(records: list[dict[str, Any]]) -> list[str]:
    """One description per (section, headline column) whose method records disagree."""
    from cure4rec.leaderboard.build import _section_key, is_failed
    from cure4rec.leaderboard.headline import COLUMNS

    by_section: dict[str, list[dict[str, Any]]] = defaultdict(list)
    titles: dict[str, str] = {}
    for r in records:
        if r["kind"] == "method" and not is_failed(r):
            key, title = _section_key(r)
            by_section[key].append(r)
            titles[key] = title
    out = []
    for key in sorted(by_section):
        seen: set[tuple[str, ...]] = set()
        for col in COLUMNS:
            if len(col.candidates) < 2 or col.candidates in seen:
                continue
            seen.add(col.candidates)
            found: dict[str, list[str]] = defaultdict(list)
            for r in by_section[key]:
                hit = _resolve(r["metrics"], col.candidates)
                if hit is not None:
                    found[hit].append(r["config_hash"])
            if len(found) > 1:
                minority = min(found, key=lambda k: (len(found[k]), k))
                parts = ", ".join(f"{len(v)} measure {k}" for k, v in sorted(found.items()))
                out.append(f"section '{titles[key]}' mixes metric sets ({parts}); "
                           f"offending records: {', '.join(sorted(found[minority])[:5])}")
    return out


def check_comparable(records: list[dict[str, Any]]) -> None:
    """Raise DataError (one line) if a section would mix records of different metric sets."""
    found = conflicts(records)
    if found:
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        raise DataError(f"{found[0]}{more}; records from different metric versions cannot "
                        "share a leaderboard: re-run them with this cure4rec or build "
                        "them separately")
