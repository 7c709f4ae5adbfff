"""`cure4rec run RECIPE`: run (or resume) every cell of a recipe and write its records."""

from __future__ import annotations

import argparse
import time

from cure4rec.runner.cells import (
    request_kinds,
    supported_models,
    unsupported_pairs,
    unsupported_requests,
)
from cure4rec.runner.executors import make_executor
from cure4rec.runner.recipe import load_recipe
from cure4rec.runner.run import plan, run_recipe


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `run` sub-command."""
    p = subparsers.add_parser("run", help="run a recipe (skips cells already recorded)")
    p.add_argument("recipe", help="recipe YAML file, e.g. recipes/quickstart.yaml")
    p.add_argument("--executor", choices=("inprocess", "process", "ray"), default="inprocess")
    p.add_argument("--workers", type=int, default=1, help="processes / Ray CPUs (default 1)")
    p.add_argument("--address", default=None, help="address of an existing Ray cluster")
    p.add_argument("--results", default="results", help="results folder (default: results)")
    p.add_argument("--limit", type=int, default=None, help="run at most N pending cells")
    p.add_argument("--dry-run", action="store_true", help="list the cells and exit")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the recipe; print the cells (dry run) or a summary with the total time."""
    t0 = time.perf_counter()
    recipe = load_recipe(args.recipe)
    for model, method in unsupported_pairs(recipe):
        print(f"skipped: {method} x {model} (method {method!r} supports "
              f"{', '.join(supported_models(method))})")
    for strategy, method in unsupported_requests(recipe):
        print(f"skipped: {method} on strategy {strategy} (method {method!r} takes "
              f"{', '.join(request_kinds(method))} requests)")
    if args.dry_run:
        cells, todo = plan(recipe, args.results)
        pending = {c.config_hash for c in todo}
        for c in cells:
            state = "todo" if c.config_hash in pending else "done"
            print(f"{c.config_hash}  {state}  {c.label()}")
        print(f"{len(cells)} cells, {len(todo)} to run")
        return 0
    executor = make_executor(args.executor, args.workers, args.address)
    summary = run_recipe(recipe, args.results, executor, limit=args.limit,
                         progress=not args.no_progress)
    print(f"{recipe.name}: {summary.cells} cells, ran {len(summary.ran)}, "
          f"skipped {summary.skipped} (already recorded); records in {summary.out_dir}/records")
    print(f"total time: {time.perf_counter() - t0:.1f} s")
    if summary.failed:
        import sys

        from cure4rec.runner.failures import summary_line

        print(f"{recipe.name}: {summary_line(summary.failed)}", file=sys.stderr)
        return 1
    return 0
