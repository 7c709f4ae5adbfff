"""`cure4rec run RECIPE`: run (or resume) every cell of a recipe and write its records."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from cure4rec.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `run` sub-command."""
    p = subparsers.add_parser("run", help="run a recipe (skips cells already recorded)")
    p.add_argument("recipe", help="recipe YAML file, e.g. recipes/quickstart.yaml")
    p.add_argument("--executor", choices=("inprocess", "process", "ray"), default="inprocess")
    p.add_argument("--workers", type=int, default=1, help="processes / Ray CPUs (default 1)")
    p.add_argument("--address", default=None,
                   help="address of an existing Ray cluster (default: a local one on 127.0.0.1)")
    p.add_argument("--results", default="results", help="results folder (default: results)")
    p.add_argument("--data-dir", default=None,
                   help="folder holding the dataset (overrides the recipe's dataset.data_dir)")
    p.add_argument("--limit", type=int, default=None, help="run at most N pending cells")
    p.add_argument("--max-cells", type=int, default=100_000,
                   help="refuse recipes whose sweep makes more cells (default 100000)")
    p.add_argument("--allow-code", action="store_true",
                   help="allow module:attr / file.py:Class names in the recipe (imports code)")
    p.add_argument("--dry-run", action="store_true",
                   help="validate, list the cells and the code that would be imported, exit")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--device", default=None,
                   help="auto, cpu, cuda or cuda:N (default: the recipe's device:, else cpu);"
                        " auto = cuda if available; not part of the cells' hashes")
    p.set_defaults(func=main)


DEFAULTS = {"executor": "inprocess", "workers": 1, "address": None, "results": "results",
            "data_dir": None, "limit": None, "max_cells": 100_000, "allow_code": False,
            "dry_run": False, "no_progress": False, "device": None}


def _check_args(args: argparse.Namespace) -> None:
    for key, value in DEFAULTS.items():  # a hand-built Namespace (API use, tests)
        if not hasattr(args, key):
            setattr(args, key, value)
    if args.limit is not None and args.limit < 0:
        raise ConfigError(f"--limit must be >= 0, got {args.limit}")
    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    if args.max_cells < 1:
        raise ConfigError(f"--max-cells must be >= 1, got {args.max_cells}")
    if args.address is not None and args.executor != "ray":
        raise ConfigError("--address is for --executor ray")
    res = Path(args.results)
    if res.exists() and not res.is_dir():
        raise ConfigError(f"--results {res} is a file, not a folder; pass a folder")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise ConfigError(f"--data-dir {args.data_dir} is not a folder")


def main(args: argparse.Namespace) -> int:
    """Run the recipe; print the cells (dry run) or a summary with the total time."""
    from cure4rec.runner.cells import (
        request_kinds,
        supported_models,
        unsupported_pairs,
        unsupported_requests,
    )
    from cure4rec.runner.executors import make_executor
    from cure4rec.runner.recipe import code_imports, load_recipe
    from cure4rec.runner.run import plan, run_recipe

    t0 = time.perf_counter()
    _check_args(args)
    recipe = load_recipe(args.recipe, allow_code=args.allow_code, max_cells=args.max_cells)
    if args.data_dir is not None:
        ds = dataclasses.replace(recipe.dataset, data_dir=str(Path(args.data_dir).resolve()))
        recipe = dataclasses.replace(recipe, dataset=ds)
    for model, method in unsupported_pairs(recipe):
        print(f"skipped: {method} x {model} (method {method!r} supports "
              f"{', '.join(supported_models(method))})")
    for strategy, method in unsupported_requests(recipe):
        print(f"skipped: {method} on strategy {strategy} (method {method!r} takes "
              f"{', '.join(request_kinds(method))} requests)")
    if args.dry_run:
        _check_data(recipe)
        cells, todo = plan(recipe, args.results)
        pending = {c.config_hash for c in todo}
        for c in cells:
            state = "todo" if c.config_hash in pending else "done"
            print(f"{c.config_hash}  {state}  {c.label()}")
        for name in code_imports(recipe):
            print(f"imports: {name}")
        print(f"{len(cells)} cells, {len(todo)} to run")
        return 0
    _check_data(recipe)
    executor = make_executor(args.executor, args.workers, args.address)
    summary = run_recipe(recipe, args.results, executor, limit=args.limit,
                         progress=not args.no_progress, device=args.device)
    print(f"{recipe.name}: {summary.cells} cells, ran {len(summary.ran)}, "
          f"skipped {summary.skipped} (already recorded); records in {summary.out_dir}/records")
    print(f"device: {summary.device}; shared models (originals, retrain references): "
          f"{summary.trainings} trainings, {summary.trainings_saved} saved by sharing")
    print(f"total time: {time.perf_counter() - t0:.1f} s")
    if summary.failed:
        import sys

        from cure4rec.runner.failures import summary_line

        print(f"{recipe.name}: {summary_line(summary.failed)}", file=sys.stderr)
        return 1
    return 0


def _check_data(recipe: object) -> None:
    """Every dataset of the recipe is found (card + files) before anything runs."""
    from cure4rec.data.cards import directory_card, load_card
    from cure4rec.data.load import find_data
    from cure4rec.runner.recipe import as_list

    for name in as_list(recipe.dataset.name):  # type: ignore[attr-defined]
        if Path(name).is_dir():
            directory_card(Path(name))
            continue
        card = load_card(name)
        if card.reader != "synthetic":
            find_data(card, recipe.dataset.data_dir)  # type: ignore[attr-defined]
