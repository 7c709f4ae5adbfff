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


def environment(device: str | None = None) -> dict[str, Any]:
    """Software and hardware the record was produced with (no timestamps); with `device`,
    the device the cell actually ran on (`cure4rec.context.device_info`)."""
    import numpy
    import torch

    from cure4rec.context import device_info

    out: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                           "numpy": numpy.__version__, "platform": platform.platform(),
                           "cpu_count": os.cpu_count()}
    if device is not None:
        out.update(device_info(device))
    return out


def make_record(definition: dict[str, Any], *, dataset: dict[str, Any],
                split: dict[str, Any], metrics: dict[str, Any],
                timings: dict[str, Any] | None = None, info: dict[str, Any] | None = None,
                method: dict[str, Any] | None = None, device: str | None = None
                ) -> dict[str, Any]:
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
        "environment": environment(device),
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
    if path.is_file():
        _refuse_future(path)
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


def _refuse_future(path: Path) -> None:
    """FutureRecordError if `path` holds a record of a newer schema (it must be kept)."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        version = old.get("schema_version") if isinstance(old, dict) else None
    except (OSError, UnicodeDecodeError, ValueError):
        return
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise FutureRecordError(f"{path}: holds a record of schema version {version} (newer "
                                f"than {SCHEMA_VERSION}); it is kept: upgrade cure4rec or move it")


class ResultsLock:
    """An exclusive `flock` on `<folder>/.lock` for one run; the OS drops it if we die."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / ".lock"
        self._fh: Any = None

    def __enter__(self) -> ResultsLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise DataError(f"{self.path.parent}: another run (pid {holder}) is writing these "
                            "results; wait for it to finish or use another --results") from exc
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


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


def schema_version(rec: dict[str, Any], where: Any = "record") -> int:
    """The record's schema version (a non-negative integer), else DataError."""
    version = rec.get("schema_version", rec.get("version", 0))
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise DataError(f"{where}: schema_version {version!r} is not a non-negative integer; "
                        "the record is damaged: delete it and run the recipe again")
    return version


class FutureRecordError(DataError):
    """A record written by a newer cure4rec (schema version above ours): kept, never replaced."""


def migrate(rec: dict[str, Any], where: Any = "record") -> dict[str, Any]:
    """Bring a record of any known schema version to the current one."""
    version = schema_version(rec, where)
    if version > SCHEMA_VERSION:
        raise FutureRecordError(f"{where}: record schema version {version} is newer than this "
                                f"cure4rec reads ({SCHEMA_VERSION}); upgrade cure4rec")
    if version == SCHEMA_VERSION:
        return rec
    if version not in MIGRATIONS:
        raise DataError(f"{where}: record schema version {version} is unknown "
                        f"(this cure4rec reads up to {SCHEMA_VERSION}); upgrade cure4rec")
    return migrate(MIGRATIONS[version](rec), where)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid metric value (JSON has no NaN/Infinity; use null)")


def load_record(path: Path) -> dict[str, Any]:
    """Read and migrate one record; raise DataError if it is unreadable or incomplete."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise DataError(f"{path}: not a readable run record ({exc})") from exc
    if not isinstance(rec, dict):
        raise DataError(f"{path}: a run record must be a JSON object")
    try:
        rec = migrate(rec, path)
    except KeyError as exc:
        raise DataError(f"{path}: record lacks field {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: malformed record ({exc}); delete it and run again") from exc
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise DataError(f"{path}: record lacks field(s) {', '.join(missing)}")
    if not isinstance(rec["metrics"], dict) or not isinstance(rec["cell"], dict):
        raise DataError(f"{path}: record fields 'metrics' and 'cell' must be JSON objects")
    for key in ("model", "method", "dataset"):
        part = rec[key]
        if not isinstance(part, dict) or not isinstance(part.get("name"), str):
            raise DataError(f"{path}: record field {key!r} must be an object with a string "
                            f"'name', got {part!r:.80}; the record is damaged (wrong "
                            "schema_version?): delete it and run again")
    for k, v in rec["metrics"].items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not math.isfinite(v)):
            raise DataError(f"{path}: metric {k!r} = {v!r} is not a finite number or null")
    return rec


def is_complete(path: Path, expected_hash: str) -> bool:
    """Whether `path` holds a valid, current record of the cell with `expected_hash`."""
    if not path.is_file():
        return False
    try:
        rec = load_record(path)
    except FutureRecordError:
        raise
    except DataError as exc:
        log.warning("%s; the cell will run again", exc)
        return False
    return rec["config_hash"] == expected_hash == config_hash(rec["cell"])


def load_records(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Load records, one per config hash, sorted by hash.

    Two files with one config hash must agree on the metrics (copies of one result); if
    they differ, which one is right is unknown, so it is a DataError naming both.
    """
    by_hash: dict[str, dict[str, Any]] = {}
    where: dict[str, Path] = {}
    for p in sorted(Path(x) for x in paths):
        rec = load_record(p)
        h = rec["config_hash"]
        if h in by_hash and by_hash[h]["metrics"] != rec["metrics"]:
            raise DataError(f"{where[h]} and {p}: two records of cell {h} with different "
                            "metrics; delete the wrong one (or re-run the cell)")
        by_hash.setdefault(h, rec)
        where.setdefault(h, p)
    return [by_hash[h] for h in sorted(by_hash)]


def find_records(root: Path) -> list[Path]:
    """Every `*.json` record under `root` (a `records/` folder or any folder above them)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"results folder {root} does not exist; run `cure4rec run RECIPE` first")
    return sorted(p for p in root.rglob("*.json")
                  if p.parent.name == "records" or root.name == "records"
                  if not p.name.startswith(".tmp-"))
