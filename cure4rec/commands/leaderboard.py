"""`cure4rec leaderboard build`: Markdown, CSV and HTML leaderboards from run records."""

from __future__ import annotations

import argparse
from pathlib import Path

from cure4rec.errors import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `leaderboard build` sub-command."""
    p = subparsers.add_parser("leaderboard", help="build leaderboards from run records")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="write leaderboard.md/.csv/.html")
    b.add_argument("--results", default="results",
                   help="folder searched for */records/*.json (default: results)")
    b.add_argument("--out", default=None, help="output folder (default: <results>/leaderboard)")
    b.set_defaults(func=main)
    a = sub.add_parser("add", help="validate submitted records, copy them into a "
                       "leaderboard and rebuild it")
    a.add_argument("results", help="folder searched for */records/*.json of the submission")
    a.add_argument("--to", default="docs/leaderboard",
                   help="leaderboard folder holding records/ (default: docs/leaderboard)")
    a.set_defaults(func=add)


def add(args: argparse.Namespace) -> int:
    """`leaderboard add`: validate (nothing written on error), copy, rebuild."""
    from cure4rec.leaderboard.submit import add_records

    copied, pages = add_records(args.results, args.to)
    for p in pages:
        print(p)
    print(f"added {len(copied)} records to {Path(args.to) / 'records'}")
    return 0


def main(args: argparse.Namespace) -> int:
    """Build the leaderboard and print where it went."""
    from cure4rec.leaderboard import write_leaderboard
    from cure4rec.leaderboard.build import fingerprint
    from cure4rec.runner.records import find_records, load_records

    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise DataError(f"--out {args.out} is a file; pass a folder for leaderboard.md/.csv/.html")
    paths = find_records(Path(args.results))
    if not paths:
        raise DataError(f"no run records under {args.results}; run `cure4rec run RECIPE` first")
    records = load_records(paths)
    out = Path(args.out) if args.out else Path(args.results) / "leaderboard"
    for p in write_leaderboard(records, out):
        print(p)
    print(f"{len(records)} records, fingerprint sha256:{fingerprint(records)[:16]}")
    return 0
