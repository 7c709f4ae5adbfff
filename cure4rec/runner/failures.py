"""Failure-tolerant cells: a cell that raises becomes an error record; the run goes on.

`tolerant(fn)` wraps a cell function (picklable, so it crosses process and Ray hops): an
exception inside the cell returns an *error record* instead of propagating — the cell's
definition and config hash, what it ran on where that could be determined, empty metrics,
``status: "error"`` and ``error`` = exception type, message (first 500 characters) and the
sha256 of the formatted traceback (``traceback_sha256``; the traceback itself is logged at DEBUG
level, not stored, so records stay free of file paths). Error records are never "complete": a re-run
retries exactly the failed and missing cells (`is_done`). The leaderboard shows such a row
as failed rather than averaging around it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cure4rec.config import config_hash
from cure4rec.errors import ConfigError, DataError, IntegrityError
from cure4rec.runner.cells import CellSpec
from cure4rec.runner.records import is_complete, load_record, make_record

log = logging.getLogger(__name__)

CellFn = Callable[[dict[str, Any]], dict[str, Any]]
STATUS_ERROR = "error"
MESSAGE_CHARS = 500


def is_error(rec: dict[str, Any]) -> bool:
    """Whether `rec` is the error record of a cell that raised."""
    return rec.get("status") == STATUS_ERROR


def _where(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(dataset, split) references of a cell, best effort (the failure may be the data)."""
    dataset = {"name": payload["dataset"]["name"], "version": "", "sha256": ""}
    split = {"id": "", "sha256": ""}
    try:
        from cure4rec.runner.cells import spec_from_dict
        from cure4rec.runner.pipeline import _dataset_ref, forget_split_of

        fs = forget_split_of(spec_from_dict(dict(payload)))
        dataset, split = _dataset_ref(fs), {"id": fs.split_id, "sha256": fs.sha256}
    except Exception as exc:  # noqa: BLE001 - the record says what failed; this is a label
        log.info("failed cell: dataset/split not determined (%s)", exc)
    return dataset, split


def error_record(payload: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The error record of the cell `payload` (a `dataclasses.asdict(CellSpec)`)."""
    from cure4rec.metrics.evaluator import EVALUATION_PROTOCOL
    from cure4rec.runner.cells import spec_from_dict

    spec = spec_from_dict(dict(payload))
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    dataset, split = _where(payload)
    rec = make_record(spec.definition(), dataset=dataset, split=split, metrics={},
                      info={"evaluation_protocol": EVALUATION_PROTOCOL})
    rec["status"] = STATUS_ERROR
    rec["error"] = {"type": type(exc).__name__, "message": str(exc)[:MESSAGE_CHARS],
                    "traceback_sha256": hashlib.sha256(tb.encode()).hexdigest()}
    return rec


# Bad user input (a data file, a config value, a damaged artefact) is the same for every
# cell: it stops the run with its one-line message (exit 2), it is not a failed cell.
FATAL: tuple[type[BaseException], ...] = (DataError, ConfigError, IntegrityError)


def _run_tolerant(fn: CellFn, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return fn(payload)
    except FATAL:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded, and the run exits non-zero
        log.error("cell %s (%s) failed: %s: %s", config_hash(CellSpec(**payload).definition()),
                  payload.get("method", {}).get("name"), type(exc).__name__, exc)
        log.debug("traceback:\n%s", traceback.format_exc())
        return error_record(payload, exc)


def tolerant(fn: CellFn) -> CellFn:
    """`fn` with exceptions turned into error records (bad input, `FATAL`, and
    KeyboardInterrupt still stop the run)."""
    return functools.partial(_run_tolerant, fn)


def is_done(path: Path, expected_hash: str) -> bool:
    """A valid, current, successful record: failed and missing cells run again."""
    return is_complete(path, expected_hash) and not is_error(load_record(path))


def summary_line(failed: list[dict[str, Any]]) -> str:
    """One line naming the failed cells' count, hashes and first error."""
    first = failed[0]["error"]
    hashes = ", ".join(r["config_hash"] for r in failed[:5]) + (", …" if len(failed) > 5 else "")
    return (f"{len(failed)} cell(s) failed ({hashes}); first: {first['type']}: "
            f"{first['message'].splitlines()[0] if first['message'] else ''} — "
            "fix and re-run the same command to retry only the failed cells")
