"""Run records field by field: rounding, required fields, errors, dedup, discovery."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np
import pytest

from cure4rec import __version__
from cure4rec.config import config_hash
from cure4rec.errors import DataError
from cure4rec.runner.records import (
    DIGITS,
    REQUIRED,
    SCHEMA_VERSION,
    environment,
    find_records,
    load_record,
    load_records,
    make_record,
    migrate,
    remove_stale_temps,
    round_metrics,
    temp_prefix,
    write_record,
)

CELL = {"kind": "method", "dataset": {"name": "synthetic", "params": {}},
        "model": {"name": "bpr", "config": {"dim": 8}},
        "method": {"name": "sisa", "config": {"shards": 2}}, "seed": 3}


def test_round_metrics_six_decimals_null_for_non_finite_sorted() -> None:
    out = round_metrics({"b": 0.1234565, "a": np.float32(2.5), "c": float("nan"),
                         "d": float("inf"), "e": 1, "f": -0.0000004, "g": 0.12345651})
    assert DIGITS == 6
    assert list(out) == ["a", "b", "c", "d", "e", "f", "g"]
    assert out == {"a": 2.5, "b": round(0.1234565, 6), "c": None, "d": None, "e": 1.0,
                   "f": -0.0, "g": 0.123457}
    assert all(type(v) is float for v in out.values() if v is not None)


def test_make_record_fields() -> None:
    rec = make_record(CELL, dataset={"name": "synthetic", "version": "1", "sha256": "ab"},
                      split={"id": "s", "sha256": "cd"}, metrics={"utility.x": 0.5},
                      timings={"unlearn": {"wall_s": 1.0}}, info={"n": 2})
    assert rec["schema_version"] == SCHEMA_VERSION == 1
    assert rec["package"] == {"name": "cure4rec", "version": __version__}
    assert rec["config_hash"] == config_hash(CELL) and len(rec["config_hash"]) == 16
    assert (rec["kind"], rec["seed"], rec["cell"]) == ("method", 3, CELL)
    assert rec["model"] == CELL["model"] and rec["method"] == CELL["method"]
    assert rec["dataset"] == {"name": "synthetic", "version": "1", "sha256": "ab"}
    assert rec["split"] == {"id": "s", "sha256": "cd"}
    assert rec["metrics"] == {"utility.x": 0.5}
    assert rec["timings"] == {"unlearn": {"wall_s": 1.0}} and rec["info"] == {"n": 2}
    assert set(REQUIRED) <= set(rec)
    bare = make_record(CELL, dataset={}, split={}, metrics={},
                       method={"name": "sisa", "config": {"shards": 2, "resolved": True}})
    assert bare["timings"] == {} and bare["info"] == {}
    assert bare["method"] == {"name": "sisa", "config": {"shards": 2, "resolved": True}}


def test_environment_has_no_timestamp() -> None:
    import torch

    env = environment()
    assert env == {"python": platform.python_version(), "torch": torch.__version__,
                   "numpy": np.__version__, "platform": platform.platform(),
                   "cpu_count": os.cpu_count()}


def test_write_record_file_layout(tmp_path: Path) -> None:
    rec = make_record(CELL, dataset={}, split={}, metrics={"m": 1 / 3})
    path = write_record(rec, tmp_path / "new" / "records")  # creates the folder
    assert path == tmp_path / "new" / "records" / f"{rec['config_hash']}.json"
    text = path.read_text()
    assert text.endswith("}\n") and text.startswith('{\n "cell": {')  # sorted, indent 1
    assert json.loads(text) == json.loads(json.dumps(rec))
    assert temp_prefix() == f".tmp-{os.getpid()}-"
    # a value json cannot encode is written as its string, not an error
    odd = dict(rec, info={"path": Path("/x")})
    assert json.loads(write_record(odd, tmp_path).read_text())["info"] == {"path": "/x"}


def test_load_record_errors(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    p.write_text("[1, 2]")
    with pytest.raises(DataError, match="r.json: a run record must be a JSON object"):
        load_record(p)
    p.write_text(json.dumps({"schema_version": 1, "config_hash": "x"}))
    with pytest.raises(DataError, match=r"lacks field\(s\) kind, cell, dataset, split"):
        load_record(p)
    p.write_text(json.dumps({"schema_version": 0, "dataset": "d"}))  # v0 without `model`
    with pytest.raises(DataError, match="r.json: record lacks field 'model'"):
        load_record(p)
    p.write_text(json.dumps({"schema_version": 7}))
    with pytest.raises(DataError, match="schema version 7 is newer than this cure4rec reads \\(1\\)"):
        load_record(p)
    with pytest.raises(DataError, match="not a readable run record"):
        load_record(tmp_path / "missing.json")


def test_migrate_v0_and_version_field() -> None:
    v0 = {"version": 0, "dataset": "ml-100k", "model": "bpr", "method": "retrain",
          "results": {"ndcg@20": 0.25, "completeness.mia_auc": 0.5, "utility.hr@5": 0.1,
                      "fairness.ugf": 0.2, "efficiency.unlearn_wall_s": 3.0}, "seed": "2"}
    rec = migrate(v0)
    assert rec["metrics"] == {"completeness.mia_auc": 0.5, "efficiency.unlearn_wall_s": 3.0,
                              "fairness.ugf": 0.2, "utility.hr@5": 0.1,
                              "utility.ndcg@20": 0.25}
    assert rec["cell"] == {
        "kind": "method", "dataset": {"name": "ml-100k", "params": {}},
        "split": {"protocol": None, "ratios": None, "seed": 0},
        "forget": {"strategy": "random", "fraction": 0.05, "seed": 0},
        "model": {"name": "bpr", "config": {}}, "method": {"name": "retrain", "config": {}},
        "seed": 2, "evaluator": {}, "references": {}, "fairness": {}, "stream": None}
    assert rec["seed"] == 2 and rec["kind"] == "method" and rec["environment"] == {}
    assert rec["dataset"] == {"name": "ml-100k", "version": "", "sha256": ""}
    assert rec["split"] == {"id": "", "sha256": ""} and rec["migrated_from"] == 0
    assert rec["timings"] == {} and rec["config_hash"] == config_hash(rec["cell"])
    full = migrate({"version": 0, "kind": "original", "dataset": "d", "version_tag": 3,
                    "dataset_sha256": "ab", "split_id": "s1", "split_sha256": "cd",
                    "strategy": "core", "fraction": "0.1", "model": "wmf",
                    "model_config": {"dim": 4}, "method": "sisa",
                    "method_config": {"shards": 2}, "timings": {"learn": {"wall_s": 1.0}},
                    "results": {}})
    assert full["cell"]["kind"] == full["kind"] == "original" and full["seed"] == 0
    assert full["cell"]["forget"] == {"strategy": "core", "fraction": 0.1, "seed": 0}
    assert full["cell"]["model"] == {"name": "wmf", "config": {"dim": 4}}
    assert full["method"] == {"name": "sisa", "config": {"shards": 2}}
    assert full["dataset"] == {"name": "d", "version": "3", "sha256": "ab"}
    assert full["split"] == {"id": "s1", "sha256": "cd"}
    assert full["timings"] == {"learn": {"wall_s": 1.0}} and full["metrics"] == {}
    current = make_record(CELL, dataset={}, split={}, metrics={})
    assert migrate(current) is current


def test_load_records_one_per_hash_and_conflicting_copies_refused(tmp_path: Path) -> None:
    ds = {"name": "toy"}
    rec = make_record(CELL, dataset=ds, split={}, metrics={"m": 1.0})
    other = make_record({**CELL, "seed": 4}, dataset=ds, split={}, metrics={"m": 2.0})
    a = tmp_path / "a" / "records"
    b = tmp_path / "b" / "records"
    write_record(rec, b)
    write_record(rec, a)  # an identical copy under another path: read once
    write_record(other, b)
    out = load_records(find_records(tmp_path))
    assert [r["config_hash"] for r in out] == sorted([rec["config_hash"], other["config_hash"]])
    assert {r["config_hash"]: r["metrics"]["m"] for r in out} == {
        rec["config_hash"]: 1.0, other["config_hash"]: 2.0}
    write_record(dict(rec, metrics={"m": 9.0}), a)  # same hash, other metrics: refused
    with pytest.raises(DataError, match=rec["config_hash"]):
        load_records(find_records(tmp_path))


def test_find_records_only_records_folders_and_no_temps(tmp_path: Path) -> None:
    recs = tmp_path / "x" / "records"
    recs.mkdir(parents=True)
    for name in ("0123.json", ".tmp-1-abc.json", "notes.txt"):
        (recs / name).write_text("{}")
    (tmp_path / "x" / "recipe.json").write_text("{}")
    (tmp_path / "x" / "cache").mkdir()
    (tmp_path / "x" / "cache" / "c.json").write_text("{}")
    assert find_records(tmp_path) == [recs / "0123.json"]
    assert find_records(recs) == [recs / "0123.json"]
    with pytest.raises(DataError, match="does not exist; run `cure4rec run RECIPE` first"):
        find_records(tmp_path / "nope")


def test_stale_temps_of_live_writers_and_odd_names(tmp_path: Path) -> None:
    import subprocess
    import sys

    # a live writer of our own (probing a pid may signal it: never use a process we did
    # not start, e.g. our parent)
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".tmp-{writer.pid}-a.json"
        mine = tmp_path / f"{temp_prefix()}b.json"
        odd = tmp_path / ".tmp-x-y.json"  # no pid: a leftover of an old version
        for p in (live, mine, odd):
            p.write_text("{")
        assert remove_stale_temps(tmp_path) == [odd]
        assert sorted(tmp_path.iterdir()) == sorted([live, mine])
        with pytest.raises(subprocess.TimeoutExpired):  # probing it did not signal it
            writer.wait(timeout=0.3)
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.parametrize("field, value", [("metrics", []), ("cell", []), ("metrics", "x")])
def test_metrics_and_cell_must_each_be_objects(tmp_path: Path, field: str, value) -> None:  # type: ignore[no-untyped-def]
    """Either one of the two not an object is a DataError (not a traceback on `.items()`)."""
    rec = make_record(CELL, dataset={}, split={}, metrics={"m": 1.0})
    rec[field] = value
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rec))
    with pytest.raises(DataError, match="'metrics' and 'cell' must be JSON objects"):
        load_record(p)


@pytest.mark.parametrize("version", [-1, 1.5, True, "3"])
def test_a_damaged_schema_version_is_named(tmp_path: Path, version) -> None:  # type: ignore[no-untyped-def]
    rec = make_record(CELL, dataset={}, split={}, metrics={"m": 1.0})
    rec["schema_version"] = version
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rec))
    with pytest.raises(DataError, match=f"schema_version {version!r} is not a non-negative"):
        load_record(p)
