"""Run records: one schema-versioned JSON file per cell, written atomically, keyed by hash.

A record holds what the cell was (its definition and config hash), what it ran on
(dataset name/version/sha256, forget split id/sha256), what it measured (metrics rounded to
6 decimals, timings) and the software environment. Nothing the leaderboard reads carries a
timestamp. Records of older schema versions are migrated on load (`MIGRATIONS`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cure4rec import __version__
from cure4rec.config import config_hash
from cure4rec.errors import DataError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DIGITS = 6
REQUIRED = ("schema_version", "config_hash", "kind", "cell", "dataset", "split", "model",
            "method", "seed", "metrics")


def round_metrics(metrics: dict[str, Any]) -> dict[str, float | None]:
    """Metrics as floats rounded to 6 decimals (non-finite values become null), sorted."""
    out: dict[str, float | None] = {}
    for k in sorted(metrics):
        v = float(metrics[k])
        out[k] = round(v, DIGITS) if math.isfinite(v) else None
    return out


def environment() -> dict[str, Any]:
    """Software and hardware the record was produced with (no timestamps)."""
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "platform": platform.platform(),
            "cpu_count": os.cpu_count()}


def make_record(definition: dict[str, Any], *, dataset: dict[str, Any],
                split: dict[str, Any], metrics: dict[str, Any],
                timings: dict[str, Any] | None = None, info: dict[str, Any] | None = None,
                method: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the record of one cell from its definition and what it measured."""
    return {
        "schema_version": SCHEMA_VERSION,
        "package": {"name": "cure4rec", "version": __version__},
        "config_hash": config_hash(definition),
        "kind": definition["kind"],
        "cell": definition,
        "dataset": dict(dataset),
        "split": dict(split),
        "model": dict(definition["model"]),
        "method": dict(method or definition["method"]),
        "seed": definition["seed"],
        "metrics": round_metrics(metrics),
        "timings": timings or {},
        "info": info or {},
        "environment": environment(),
    }


def temp_prefix() -> str:
    """Prefix of this process's temporary files (`.tmp-<pid>-`): a killed writer's leftovers
    can be told apart from a live writer's files."""
    return f".tmp-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete `.tmp-*` files in `folder` left by writers that are no longer running."""
    removed = []
    for p in sorted(Path(folder).glob(".tmp-*")) if Path(folder).is_dir() else []:
        pid = p.name.split("-")[1]
        if pid.isdigit() and _alive(int(pid)):
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
    if removed:
        log.info("removed %d temporary file(s) of killed runs in %s", len(removed), folder)
    return removed


def write_record(record: dict[str, Any], records_dir: Path) -> Path:
    """Write `record` to `<records_dir>/<config_hash>.json` atomically (temp + os.replace)."""
    records_dir.mkdir(parents=True, exist_ok=True)
    path = records_dir / f"{record['config_hash']}.json"
    fd, tmp = tempfile.mkstemp(dir=records_dir, prefix=temp_prefix(), suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, sort_keys=True, indent=1, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _migrate_v0(rec: dict[str, Any]) -> dict[str, Any]:
    """v0 (prototype) records: flat dataset/split fields and unprefixed utility metrics."""
    aspects = ("completeness.", "utility.", "efficiency.", "fairness.")
    metrics = {(k if k.startswith(aspects) else f"utility.{k}"): v
               for k, v in rec.get("results", {}).items()}
    cell = {"kind": rec.get("kind", "method"),
            "dataset": {"name": rec["dataset"], "params": {}},
            "split": {"protocol": None, "ratios": None, "seed": 0},
            "forget": {"strategy": rec.get("strategy", "random"),
                       "fraction": float(rec.get("fraction", 0.05)), "seed": 0},
            "model": {"name": rec["model"], "config": rec.get("model_config", {})},
            "method": {"name": rec["method"], "config": rec.get("method_config", {})},
            "seed": int(rec.get("seed", 0)), "evaluator": {}, "references": {},
            "fairness": {}, "stream": None}
    # v0's `version` is its schema version (0); the dataset's version was `version_tag`
    out = make_record(cell, dataset={"name": rec["dataset"],
                                     "version": str(rec.get("version_tag", "")),
                                     "sha256": rec.get("dataset_sha256", "")},
                      split={"id": rec.get("split_id", ""), "sha256": rec.get("split_sha256", "")},
                      metrics=metrics, timings=rec.get("timings", {}))
    out["environment"] = {}
    out["migrated_from"] = 0
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _migrate_v0}


def migrate(rec: dict[str, Any]) -> dict[str, Any]:
    """Bring a record of any known schema version to the current one."""
    version = int(rec.get("schema_version", rec.get("version", 0)))
    if version == SCHEMA_VERSION:
        return rec
    if version not in MIGRATIONS:
        raise DataError(f"record schema version {version} is unknown "
                        f"(this cure4rec reads up to {SCHEMA_VERSION}); upgrade cure4rec")
    return migrate(MIGRATIONS[version](rec))


def load_record(path: Path) -> dict[str, Any]:
    """Read and migrate one record; raise DataError if it is unreadable or incomplete."""
    try:
        rec = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable run record ({exc})") from exc
    if not isinstance(rec, dict):
        raise DataError(f"{path}: a run record must be a JSON object")
    try:
        rec = migrate(rec)
    except KeyError as exc:
        raise DataError(f"{path}: record lacks field {exc}") from exc
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise DataError(f"{path}: record lacks field(s) {', '.join(missing)}")
    return rec


def is_complete(path: Path, expected_hash: str) -> bool:
    """Whether `path` holds a valid, current record of the cell with `expected_hash`."""
    if not path.is_file():
        return False
    try:
        rec = load_record(path)
    except DataError as exc:
        log.warning("%s; the cell will run again", exc)
        return False
    return rec["config_hash"] == expected_hash == config_hash(rec["cell"])


def load_records(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Load records, one per config hash (first in sorted path order), sorted by hash."""
    by_hash: dict[str, dict[str, Any]] = {}
    for p in sorted(Path(x) for x in paths):
        rec = load_record(p)
        by_hash.setdefault(rec["config_hash"], rec)
    return [by_hash[h] for h in sorted(by_hash)]


def find_records(root: Path) -> list[Path]:
    """Every `*.json` record under `root` (a `records/` folder or any folder above them)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"results folder {root} does not exist; run `cure4rec run RECIPE` first")
    return sorted(p for p in root.rglob("*.json")
                  if p.parent.name == "records" or root.name == "records"
                  if not p.name.startswith(".tmp-"))
