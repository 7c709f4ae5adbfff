"""The `cure4rec` command line. Each module of `cure4rec.commands` adds its sub-commands.

A module there defines ``register(subparsers)``, which adds parsers whose ``func`` default
takes the parsed namespace and returns an exit code; heavy imports (torch, pandas) happen
inside ``func``, so `cure4rec --help` stays fast. User errors (`CureError`) and what the
environment refuses (a full disk, a read-only folder, undecodable bytes) are printed as one
line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from cure4rec import __version__
from cure4rec.errors import CureError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command module's sub-commands."""
    parser = argparse.ArgumentParser(prog="cure4rec", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cure4rec {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import cure4rec.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"cure4rec.commands.{info.name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CureError as exc:
        print(f"cure4rec {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"cure4rec {args.command}: error: a file is not UTF-8 text ({exc.reason} at byte "
              f"{exc.start}); re-save it as UTF-8", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            sys.stderr.close()
            return 0
        where = f": {exc.filename}" if exc.filename else ""
        print(f"cure4rec {args.command}: error: {exc.strerror or exc}{where}; free space, fix "
              "permissions or choose another path", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cure4rec {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    """The message on one line (ANSI colour codes and line breaks removed)."""
    import re

    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
