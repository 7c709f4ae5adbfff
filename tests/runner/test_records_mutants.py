"""Run records: the messages a user acts on, the results lock, and the edges of discovery and
migration (issue 17, `runner/records` mutation survivors of round 11, each named below)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

import pytest

import cure4rec.runner.records as records
from cure4rec.errors import DataError
from cure4rec.runner.records import (
    ResultsLock,
    environment,
    find_records,
    is_complete,
    load_record,
    make_record,
    migrate,
    remove_stale_temps,
    schema_version,
    write_record,
)

CELL = {"kind": "method", "dataset": {"name": "synthetic", "params": {}},
        "model": {"name": "bpr", "config": {"dim": 8}},
        "method": {"name": "sisa", "config": {"shards": 2}}, "seed": 3}


def _record(**kw):  # type: ignore[no-untyped-def]
    return make_record(CELL, dataset={"name": "synthetic"}, split={"id": "s"},
                       metrics={"utility.x": 0.5}, **kw)


def test_lock_file_holds_our_pid_and_a_second_lock_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"  # parents created
    (lock := folder / ".lock").parent.mkdir(parents=True)
    lock.write_text("9876543")  # a dead run's pid: replaced, not appended to
    with ResultsLock(folder):
        assert lock.read_text() == str(os.getpid())
        with pytest.raises(DataError) as err:
            ResultsLock(folder).__enter__()
        assert str(err.value) == (f"{folder}: another run (pid {os.getpid()}) is writing these "
                                  "results; wait for it to finish or use another --results")
    with ResultsLock(folder) as again:  # released on exit: the same process takes it again
        again.__exit__()  # exiting twice is harmless
    ResultsLock(tmp_path / "never").__exit__()  # and exiting a lock never entered
    deep = tmp_path / "x" / "y" / "z"
    with ResultsLock(deep):
        assert (deep / ".lock").is_file()


def test_a_lock_held_without_a_pid_names_an_unknown_holder(tmp_path: Path) -> None:
    with open(tmp_path / ".lock", "a+") as fh:  # held by a writer that wrote nothing yet
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DataError, match=r"another run \(pid \?\) is writing"):
            ResultsLock(tmp_path).__enter__()


def test_alive_treats_a_foreign_process_as_running(monkeypatch: pytest.MonkeyPatch) -> None:
    def kill(pid: int, sig: int, exc: type[BaseException] | None) -> None:
        if exc is not None:
            raise exc()

    for exc, want in ((PermissionError, True), (ProcessLookupError, False), (None, True)):
        monkeypatch.setattr(os, "kill", lambda p, s, e=exc: kill(p, s, e))
        assert records._alive(12345) is want


def test_removed_temps_are_logged_with_count_and_folder(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    for name in (".tmp-999999999-a.json", ".tmp-999999998-b.json"):
        (tmp_path / name).write_text("{")
    with caplog.at_level(logging.INFO, logger=records.log.name):
        removed = remove_stale_temps(tmp_path)
    assert len(removed) == 2 and not list(tmp_path.iterdir())
    assert [r.getMessage() for r in caplog.records] == [
        f"removed 2 temporary file(s) of killed runs in {tmp_path}"]


def test_is_complete_warns_with_the_reason_and_reruns(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "x.json"
    p.write_text("[1]")
    with caplog.at_level(logging.WARNING, logger=records.log.name):
        assert is_complete(p, "x") is False
    assert [r.getMessage() for r in caplog.records] == [
        f"{p}: a run record must be a JSON object; the cell will run again"]


def test_nan_in_a_record_is_refused_by_the_parser(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    p.write_text(json.dumps(_record()).replace("0.5", "NaN"))
    with pytest.raises(DataError) as err:
        load_record(p)
    assert str(err.value) == (f"{p}: not a readable run record (NaN is not a valid metric "
                              "value (JSON has no NaN/Infinity; use null))")


def test_a_malformed_v0_record_is_named_with_the_fix(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"version": 0, "dataset": "d", "model": "m", "method": "x",
                             "fraction": "a lot"}))
    with pytest.raises(DataError) as err:
        load_record(p)
    assert str(err.value) == (f"{p}: malformed record (could not convert string to float: "
                              "'a lot'); delete it and run again")


def test_a_field_of_the_wrong_type_names_the_fix(tmp_path: Path) -> None:
    rec = _record()
    rec["model"] = "bpr"
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rec))
    with pytest.raises(DataError) as err:
        load_record(p)
    assert str(err.value) == (f"{p}: record field 'model' must be an object with a string "
                              "'name', got 'bpr'; the record is damaged (wrong "
                              "schema_version?): delete it and run again")


def test_schema_version_falls_back_to_the_v0_version_key_then_zero() -> None:
    assert schema_version({"version": 1}) == 1
    assert schema_version({}) == 0
    assert schema_version({"schema_version": 1, "version": 0}) == 1
    with pytest.raises(DataError) as err:
        schema_version({"schema_version": -1})
    assert str(err.value) == ("record: schema_version -1 is not a non-negative integer; "
                              "the record is damaged: delete it and run the recipe again")
    with pytest.raises(DataError, match=r"^record: schema_version"):
        migrate({"schema_version": "1"})


def test_an_unknown_older_version_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "SCHEMA_VERSION", 3)
    with pytest.raises(DataError) as err:
        migrate({"schema_version": 2}, "f.json")
    assert str(err.value) == ("f.json: record schema version 2 is unknown (this cure4rec "
                              "reads up to 3); upgrade cure4rec")


def test_a_non_object_file_in_the_way_is_overwritten(tmp_path: Path) -> None:
    rec = _record()
    (tmp_path / f"{rec['config_hash']}.json").write_text("[1, 2]")
    p = write_record(rec, tmp_path)
    assert json.loads(p.read_text()) == rec


def test_the_device_reaches_the_environment() -> None:
    assert environment("cpu")["device"] == "cpu" and "device" not in environment()
    assert _record(device="cpu")["environment"]["device"] == "cpu"


def test_a_records_root_finds_nested_folders(tmp_path: Path) -> None:
    root = tmp_path / "records"
    (root / "old").mkdir(parents=True)
    (root / "old" / "a.json").write_text("{}")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b.json").write_text("{}")
    assert find_records(root) == [root / "old" / "a.json"]
    assert find_records(tmp_path) == []  # neither file sits in a records/ folder
