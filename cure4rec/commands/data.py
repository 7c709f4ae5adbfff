"""`cure4rec data list | info NAME | fetch NAME | verify NAME`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `data` command group."""
    p = subparsers.add_parser("data", help="dataset cards: list, info, fetch, verify")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="known dataset cards")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=_list)
    for name, fn, hlp in (("info", _info, "card and statistics after preprocessing"),
                          ("fetch", _fetch, "download, verify sha256, extract into the cache"),
                          ("verify", _verify, "re-hash the cached files against the card")):
        q = sub.add_parser(name, help=hlp)
        q.add_argument("name", help="dataset card name (or, for info, a directory)")
        q.add_argument("--cards-dir", help="extra directory of dataset cards")
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(func=fn)
    info = sub.choices["info"]
    info.add_argument("--data-dir", help="directory holding the data (default: the cache)")
    info.add_argument("--k-core", type=int, help="override the card's k-core")
    f = sub.choices["fetch"]
    f.add_argument("--url", help="override the card's source URL (mirror)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")


def _list(args: argparse.Namespace) -> int:
    from cure4rec.data.cards import list_cards, load_card

    rows = [(n, load_card(n).title) for n in list_cards()]
    if args.json:
        print(json.dumps([{"name": n, "title": t} for n, t in rows], indent=2))
    else:
        for n, t in rows:
            print(f"{n:16s} {t}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from cure4rec.data.load import load_dataset

    kw = {"k_core": args.k_core} if args.k_core is not None else {}
    ds = load_dataset(args.name, data_dir=args.data_dir, cards_dir=args.cards_dir, **kw)
    st = ds.interactions.stats()
    out = {"name": ds.name, "version": ds.version, "sha256": ds.sha256,
           "users": st["users"], "items": st["items"], "interactions": st["interactions"],
           "sparsity": round(st["sparsity"], 6), "presplit": ds.presplit is not None,
           "card": ds.card.to_dict()}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{ds.name}@{ds.version}: {out['users']} users, {out['items']} items, "
              f"{out['interactions']} interactions (sparsity {out['sparsity']:.4%})")
        print(f"sha256 {ds.sha256}")
        print(f"licence: {ds.card.licence}\ncitation: {ds.card.citation}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from cure4rec.data.cards import load_card
    from cure4rec.data.fetch import fetch

    card = load_card(args.name, args.cards_dir)
    path = fetch(card, url=args.url, progress=not args.quiet)
    recorded = json.loads((path / "sha256.json").read_text())
    for src in card.sources:
        name = src.filename or src.url.rsplit("/", 1)[-1]
        if src.sha256 is None and name in recorded:
            print(f"note: the card pins no sha256 for {name}; recorded the first download's "
                  f"sha256 {recorded[name]} (`data verify` reports it as unpinned)",
                  file=sys.stderr)
    print(json.dumps({"name": card.name, "path": str(path)}) if args.json else str(path))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from cure4rec.data.cards import load_card
    from cure4rec.data.fetch import verify_status

    status = verify_status(load_card(args.name, args.cards_dir))
    if args.json:
        print(json.dumps({n: {"sha256": h, "status": st} for n, (h, st) in status.items()},
                         indent=2))
    else:
        for n, (h, st) in status.items():
            note = ("" if st == "OK" else " (the card pins no sha256: matches the first "
                    "download only)")
            print(f"{h}  {n}  {st}{note}")
    return 0
