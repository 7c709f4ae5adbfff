"""Run a recipe: expand cells, skip those with a valid record, execute the rest, write records.

Layout under the results folder: `<recipe-name>/recipe.resolved.yaml`,
`<recipe-name>/records/<config_hash>.json` (one per cell, written atomically as each cell
finishes, so a crash loses at most the cells in flight) and `<recipe-name>/cache/<hash>.pt`
(trained reference models shared between cells). Temporary files left by a killed run
(`.tmp-<pid>-*` of a process no longer running) are removed when the next run starts.
One run at a time writes a recipe's folder (`<recipe-name>/.lock`, an OS file lock); the
folder is checked writable before any cell is computed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from cure4rec.config import canonical_json
from cure4rec.errors import ConfigError, DataError
from cure4rec.runner.cells import CellSpec, expand_cells
from cure4rec.runner.executors import Executor, InProcessExecutor
from cure4rec.runner.failures import is_done, is_error, tolerant
from cure4rec.runner.recipe import Recipe, save_resolved
from cure4rec.runner.records import ResultsLock, remove_stale_temps, write_record

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run did: cells in the recipe, cells run now, cells skipped, seconds taken."""

    out_dir: Path
    cells: int
    ran: list[str] = field(default_factory=list)
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)  # error records written
    seconds: float = 0.0
    device: str = "cpu"  # the device the cells ran on (`auto` resolved)
    trainings: int = 0  # shared models (originals, retrain references) the cells run need
    trainings_saved: int = 0  # ... and the trainings sharing them saved (`shared_trainings`)


def shared_trainings(cells: list[CellSpec]) -> tuple[int, int]:
    """(trainings of shared models, trainings saved by sharing them) for running `cells`.

    Shared: the original (one per train set, model, seed and regularisers: every forget
    strategy and method of it), which is also the learned state of every plain single-model
    method, and the `retrain_seeds` references (one set per forget split, model, seed).
    Without sharing every cell would train its own. Sharded methods learn their own state.
    """
    from cure4rec.methods.base import METHODS
    from cure4rec.methods.retrain import SingleModelMethod

    def plain(name: str) -> bool:
        cls = METHODS.get(name)
        return issubclass(cls, SingleModelMethod) and cls._learn is SingleModelMethod._learn

    originals, groups, naive = set(), set(), 0
    for c in cells:
        base = canonical_json([c.dataset, c.split, c.model, c.seed, c.fairness, c.device])
        refs = int(c.references.get("retrain_seeds", 8))
        originals.add(base)
        groups.add((base, canonical_json([c.forget, c.references]), refs))
        naive += 1 + refs + (c.kind == "method" and plain(c.method["name"]))
    needed = len(originals) + sum(r for _, _, r in groups)
    return needed, naive - needed


def results_dir(recipe: Recipe, root: str | Path) -> Path:
    """The folder of one recipe's results."""
    return Path(root) / recipe.name


def plan(recipe: Recipe, root: str | Path) -> tuple[list[CellSpec], list[CellSpec]]:
    """(all cells, cells still to run) for `recipe` under the results folder `root`."""
    out = results_dir(recipe, root)
    cells = expand_cells(recipe, cache_dir=str((out / "cache").resolve()))
    todo = [c for c in cells if not is_done(out / "records" / f"{c.config_hash}.json",
                                            c.config_hash)]
    return cells, todo


def _default_fn() -> Callable[[dict[str, Any]], dict[str, Any]]:
    from cure4rec.runner.pipeline import run_cell

    return run_cell


def run_recipe(recipe: Recipe, root: str | Path = "results", executor: Executor | None = None,
               *, limit: int | None = None, progress: bool = True,
               fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
               device: str | None = None) -> RunSummary:
    """Run every cell of `recipe` that has no valid successful record yet (at most `limit`).

    A cell that raises is written as an error record (`cure4rec.runner.failures`) and the
    run goes on; `summary.failed` lists them (the CLI then exits non-zero). `device`
    (default: the recipe's `device:`) is resolved first (`auto`: cuda if available, else
    cpu; cuda without CUDA: ConfigError) and recorded in every record's `environment`.
    """
    from cure4rec.context import resolve_device  # imports torch: not at module level, so
    # the runner's light modules (executors' watchdog, records) import without it

    t0 = time.perf_counter()
    dev = resolve_device(device or recipe.device,
                         "--device" if device else f"{recipe.name}: device")
    out = results_dir(recipe, root)
    with ResultsLock(prepare_results(out)):
        return _run_locked(recipe, root, out, executor, limit, progress, fn, t0, dev)


def prepare_results(out: Path) -> Path:
    """Create `out/records` and `out/cache` and check they are writable (DataError if not)."""
    try:
        for folder in (out / "records", out / "cache"):
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".tmp-{os.getpid()}-probe"
            probe.write_bytes(b"")
            probe.unlink()
    except OSError as exc:
        raise DataError(f"results folder {out}: not writable ({exc.strerror or exc}); "
                        "pass another --results or fix its permissions") from exc
    return out


def _run_locked(recipe: Recipe, root: str | Path, out: Path, executor: Executor | None,
                limit: int | None, progress: bool,
                fn: Callable[[dict[str, Any]], dict[str, Any]] | None, t0: float,
                device: str = "cpu") -> RunSummary:
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be >= 0, got {limit}")
    remove_stale_temps(out)
    save_resolved(recipe, out / "recipe.resolved.yaml")
    for folder in (out / "records", out / "cache"):  # debris of a killed run
        remove_stale_temps(folder)
    cells, todo = plan(recipe, root)
    summary = RunSummary(out, len(cells), skipped=len(cells) - len(todo), device=device)
    if limit is not None:
        todo = todo[:limit]
    todo = [dataclasses.replace(c, device=device) for c in todo]
    summary.trainings, summary.trainings_saved = shared_trainings(todo)
    log.info("%s: %d cells, %d to run", recipe.name, len(cells), len(todo))
    executor = executor or InProcessExecutor()
    bar = tqdm(total=len(todo), desc=recipe.name, unit="cell", disable=not progress)
    try:
        for cell, record in executor.map(tolerant(fn or _default_fn()), todo):
            if record.get("config_hash") != cell.config_hash:
                raise RuntimeError(f"cell {cell.config_hash} returned a record for "
                                   f"{record.get('config_hash')}")
            write_record(record, out / "records")
            summary.ran.append(cell.config_hash)
            if is_error(record):
                summary.failed.append(record)
            bar.set_postfix_str(cell.label(), refresh=False)
            bar.update()
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - t0
    return summary
