"""Submitting records to a committed leaderboard: validate, copy, rebuild.

`add_records(results_dir, to)` checks every record of a submission against the leaderboard
in `to` (records under `<to>/records/`) before writing anything:

- schema: readable, migrated to the current schema, all required fields, a successful
  cell (error records of failed cells are not submitted);
- config hash: recomputed from the record's cell definition and equal to the stored one;
- no duplicates: a config hash already on the leaderboard, or twice in the submission;
- protocol: equal to the protocol of the committed records of the same dataset × forget
  setting (a submission from another evaluation protocol is refused, not mixed);
- section and split: the record joins an existing section (same settings: dataset,
  split, evaluator, references, …) and its split sha256 equals the committed one for its
  split id;
- comparability: the combined records pass `check_comparable` (no mixed metric sets).

Any failure raises DataError with one line naming the file and what to do; otherwise the
records are copied to `<to>/records/` and the pages are rebuilt there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from cure4rec.config import config_hash
from cure4rec.errors import DataError


def _slot(rec: dict[str, Any]) -> tuple[str, str, str, str]:
    """Dataset × forget setting, whatever the protocol and other settings."""
    ds, f = rec["dataset"], rec["cell"]["forget"]
    return (str(ds.get("name")), str(ds.get("version", "")), str(f["strategy"]),
            repr(f.get("fraction")))


def _load(paths: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    from cure4rec.runner.records import load_record

    return [(p, load_record(p)) for p in sorted(paths)]


def validate(submitted: list[tuple[Path, dict[str, Any]]],
             committed: list[dict[str, Any]]) -> None:
    """Raise DataError (one line) on the first submitted record that cannot be added."""
    from cure4rec.leaderboard.build import LEGACY_PROTOCOL, _section_key, is_failed, protocol_of

    have = {r["config_hash"] for r in committed}
    protocols: dict[tuple[str, ...], set[str]] = defaultdict(set)
    sections: set[str] = set()
    splits: dict[str, str] = {}
    for r in committed:
        protocols[_slot(r)].add(protocol_of(r) or LEGACY_PROTOCOL)
        sections.add(_section_key(r)[0])
        splits[str(r["split"].get("id", ""))] = str(r["split"].get("sha256", ""))
    seen: dict[str, Path] = {}
    for path, rec in submitted:
        h = rec["config_hash"]  # schema: load_record migrated it or refused it
        if is_failed(rec):
            raise DataError(f"{path}: the error record of a failed cell "
                            f"({(rec.get('error') or {}).get('type')}); fix the method and "
                            "re-run the recipe before submitting")
        again = config_hash(rec["cell"])
        if again != h:
            raise DataError(f"{path}: config_hash {h} does not match its cell (recomputed "
                            f"{again}); records must not be edited by hand")
        if h in have:
            raise DataError(f"{path}: config_hash {h} is already on the leaderboard; "
                            "remove it from the submission")
        if h in seen:
            raise DataError(f"{path}: config_hash {h} also in {seen[h]}; submit each cell once")
        seen[h] = path
        proto = protocol_of(rec) or LEGACY_PROTOCOL
        theirs = protocols.get(_slot(rec))
        if theirs and proto not in theirs:
            raise DataError(f"{path}: evaluation protocol {proto!r} differs from the "
                            f"leaderboard's {', '.join(sorted(theirs))!r} for "
                            f"{' '.join(_slot(rec)[:3])}; re-run with the cure4rec version "
                            "that built it")
        key, title = _section_key(rec)
        if key not in sections:
            raise DataError(f"{path}: joins no section of the leaderboard ({title}); run the "
                            "committed recipe (recipe.resolved.yaml) with your method added")
        sid, sha = str(rec["split"].get("id", "")), str(rec["split"].get("sha256", ""))
        if sid in splits and splits[sid] != sha:
            raise DataError(f"{path}: split {sid} has sha256 {sha}, the leaderboard's has "
                            f"{splits[sid]}; use the committed data and split")
    from cure4rec.leaderboard.compat import check_comparable

    check_comparable(committed + [r for _, r in submitted])


def add_records(results: str | Path, to: str | Path) -> tuple[list[Path], list[Path]]:
    """Validate the records under `results`, copy them to `<to>/records/`, rebuild the
    pages in `to`; returns (copied record paths, written pages)."""
    from cure4rec.leaderboard import write_leaderboard
    from cure4rec.runner.records import find_records, load_records, write_record

    target = Path(to)
    if not (target / "records").is_dir():
        raise DataError(f"--to {target}: no records/ folder (not a leaderboard); pass the "
                        "folder holding leaderboard.md and records/, e.g. docs/leaderboard")
    paths = find_records(Path(results))
    if not paths:
        raise DataError(f"no run records under {results}; run `cure4rec run RECIPE` first")
    submitted = _load(paths)
    committed = load_records(find_records(target / "records"))
    validate(submitted, committed)
    copied = []
    for _, rec in submitted:
        copied.append(write_record(json.loads(json.dumps(rec)), target / "records"))
    pages = write_leaderboard(committed + [r for _, r in submitted], target)
    return copied, pages
