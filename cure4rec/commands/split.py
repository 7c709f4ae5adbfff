"""`cure4rec split make | verify DIR | show DIR`: citable forget splits."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `split` command group."""
    p = subparsers.add_parser("split", help="forget splits: make, verify, show")
    sub = p.add_subparsers(dest="split_command", metavar="ACTION", required=True)
    mk = sub.add_parser("make", help="select a forget set and write its manifest")
    mk.add_argument("--dataset", default="synthetic", help="card name or a directory")
    mk.add_argument("--data-dir", help="directory holding the data (default: the cache)")
    mk.add_argument("--seed", type=int, default=0, help="data split and forget seed")
    mk.add_argument("--strategy", default="core",
                    help="core, edge, random, core-matched, edge-matched, category, attribute")
    mk.add_argument("--fraction", type=float, help="share of users (or interactions), in (0,1)")
    mk.add_argument("--unit", default="users", choices=("users", "interactions"))
    mk.add_argument("--protocol", help="data split protocol: random, temporal, presplit")
    mk.add_argument("--category", help="category value (strategy category)")
    mk.add_argument("--category-column", help="item attribute holding categories")
    mk.add_argument("--attribute", help="user attribute (strategy attribute)")
    mk.add_argument("--target-interactions", type=int, help="matched strategies: target size")
    mk.add_argument("--out", help="write the manifest to this directory")
    mk.add_argument("--json", action="store_true", help="machine-readable output")
    mk.set_defaults(func=_make)
    for name, fn, hlp in (("verify", _verify, "re-check a manifest's sha256"),
                          ("show", _show, "print a manifest's card")):
        q = sub.add_parser(name, help=hlp)
        q.add_argument("dir", help="manifest directory")
        q.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "show":
            q.add_argument("--cite", action="store_true",
                           help="print a BibTeX-style entry citing the split id and sha256")
        q.set_defaults(func=fn)


def _print_card(card: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps({k: v for k, v in card.items() if k != "files"}, indent=2,
                         sort_keys=True))
        return
    print(f"{card['split_id']}  sha256 {card['sha256']}")
    print(f"forget: {card['n_forget_users']} users, {card['n_forget_interactions']} "
          f"interactions ({card['share_of_train']:.2%} of train); retained "
          f"{card['n_retained_interactions']}")


def _make(args: argparse.Namespace) -> int:
    from cure4rec.data.load import load_dataset, split_dataset
    from cure4rec.forget.select import make_forget_split

    opts = {k: v for k, v in (("category", args.category),
                              ("category_column", args.category_column),
                              ("attribute", args.attribute),
                              ("target_interactions", args.target_interactions)) if v is not None}
    ds = load_dataset(args.dataset, data_dir=args.data_dir)
    split = split_dataset(ds, seed=args.seed, protocol=args.protocol)
    fs = make_forget_split(split, args.strategy, args.fraction, seed=args.seed, unit=args.unit,
                           **opts)
    if args.out:
        fs.save(args.out)
    _print_card(fs.card, args.json)
    return 0


def load_manifest(directory: str) -> Any:
    """`ForgetSplit.load`, with a damaged manifest (truncated, key-less, list-shaped,
    non-numeric files) reported as one DataError naming the folder."""
    from cure4rec.errors import CureError, DataError
    from cure4rec.forget.manifest import ForgetSplit

    try:
        return ForgetSplit.load(directory)
    except CureError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise DataError(f"{directory}: damaged forget-split manifest ({type(exc).__name__}: "
                        f"{what}); make it again with `cure4rec split make --out`") from exc


def _verify(args: argparse.Namespace) -> int:
    fs = load_manifest(args.dir)
    print(json.dumps({"split_id": fs.split_id, "sha256": fs.sha256, "ok": True}) if args.json
          else f"OK {fs.split_id} sha256 {fs.sha256}")
    return 0


def _show(args: argparse.Namespace) -> int:
    card = load_manifest(args.dir).card
    if getattr(args, "cite", False):
        from cure4rec.leaderboard.cite import bibtex

        print(bibtex(card["split_id"], card["sha256"], dataset=str(card.get("dataset", "")),
                     dataset_sha256=str(card.get("dataset_sha256", "")),
                     version=str(card.get("package_version", ""))))
        return 0
    _print_card(card, args.json)
    return 0
