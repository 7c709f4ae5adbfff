"""Hostile results folders: damaged, future-schema, duplicate and non-finite records; locks,
unwritable folders, a full disk, concurrent writers of the resolved recipe."""

from __future__ import annotations

import errno
import json
import threading
from pathlib import Path

import pytest
from _robust import Snapshot, cli, expect_error, no_temp_files, records_of, write


def _first(results: Path) -> tuple[Path, dict]:
    path = records_of(results)[-1]
    return path, json.loads(path.read_text())


def _leaderboard(capsys, results: Path) -> tuple[int, str, str]:
    return cli(capsys, "leaderboard", "build", "--results", results,
               "--out", results.parent / "lb")


@pytest.mark.parametrize("version", ["abc", None, -1, 1.5, True, [1]])
def test_bad_schema_version_is_one_line(capsys, results, version) -> None:
    path, rec = _first(results)
    rec["schema_version"] = version
    path.write_text(json.dumps(rec))
    snap = Snapshot(results)
    expect_error(_leaderboard(capsys, results), path.name, "schema_version", snapshot=snap)
    assert not (results.parent / "lb").exists()


def test_schema_zero_with_current_layout_is_one_line(capsys, results) -> None:
    path, rec = _first(results)
    rec["schema_version"] = 0
    path.write_text(json.dumps(rec))
    expect_error(_leaderboard(capsys, results), path.name)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", '"0.5"', "true", "[1]"])
def test_non_finite_or_string_metrics_refused(capsys, results, value) -> None:
    path, rec = _first(results)
    text = json.dumps(rec)
    key = sorted(rec["metrics"])[0]
    text = text.replace(f'"{key}": {json.dumps(rec["metrics"][key])}', f'"{key}": {value}', 1)
    path.write_text(text)
    snap = Snapshot(results)
    expect_error(_leaderboard(capsys, results), path.name, snapshot=snap)


def test_two_records_one_hash_different_metrics(capsys, results) -> None:
    path, rec = _first(results)
    key = sorted(rec["metrics"])[0]
    rec["metrics"][key] = 12345.0
    other = write(results / "copy" / "records" / path.name, json.dumps(rec))
    expect_error(_leaderboard(capsys, results), path.name, str(other), "different metrics")
    other.write_text(path.read_text())  # an identical copy is fine
    rc, _, err = _leaderboard(capsys, results)
    assert rc == 0, err


@pytest.mark.parametrize("content", [b"[1, 2]", b"{not json", b"\xff\xfe\x00", b""])
def test_unreadable_record(capsys, results, content) -> None:
    path, _ = _first(results)
    path.write_bytes(content)
    expect_error(_leaderboard(capsys, results), path.name)


def test_future_schema_record_is_kept_and_the_run_refused(capsys, results) -> None:
    path, rec = _first(results)
    rec["schema_version"] = 99
    path.write_text(json.dumps(rec))
    recipe = results.parent / "tiny.yaml"
    snap = Snapshot(results)
    for extra in ([], ["--dry-run"]):
        expect_error(cli(capsys, "run", recipe, "--results", results, "--no-progress", *extra),
                     path.name, "schema version 99", "upgrade", snapshot=snap)


def test_write_record_never_replaces_a_future_record(results) -> None:
    from cure4rec.runner.records import FutureRecordError, write_record

    path, rec = _first(results)
    future = {**rec, "schema_version": 7}
    path.write_text(json.dumps(future))
    with pytest.raises(FutureRecordError, match="kept"):
        write_record(rec, path.parent)
    assert json.loads(path.read_text())["schema_version"] == 7
    no_temp_files(path.parent)


def test_damaged_record_is_recomputed_only_in_a_real_run(capsys, results) -> None:
    path, _ = _first(results)
    path.write_text("{truncated")
    rc, out, err = cli(capsys, "run", results.parent / "tiny.yaml", "--results", results,
                       "--dry-run")
    assert rc == 0 and "1 to run" in out and "Traceback" not in err
    assert path.read_text() == "{truncated"  # a dry run writes nothing


def test_second_run_on_a_locked_folder_is_refused(capsys, results) -> None:
    from cure4rec.runner.records import ResultsLock

    snap = Snapshot(results)
    with ResultsLock(results / "tiny"):
        expect_error(cli(capsys, "run", results.parent / "tiny.yaml", "--results", results,
                         "--no-progress"), "another run", "--results", snapshot=snap)
    rc, out, err = cli(capsys, "run", results.parent / "tiny.yaml", "--results", results,
                       "--no-progress")
    assert rc == 0 and "ran 0" in out, err  # released: the next run goes ahead


def test_unwritable_results_folder_fails_before_any_cell(capsys, results, tmp_path) -> None:
    recipe = results.parent / "tiny.yaml"
    fresh = tmp_path / "fresh"
    write(fresh / "tiny" / "records", "a file where the records folder goes")
    snap = Snapshot(fresh)
    expect_error(cli(capsys, "run", recipe, "--results", fresh, "--no-progress"),
                 "not writable", snapshot=snap)


def test_disk_full_while_writing_a_record(capsys, results, monkeypatch) -> None:
    import cure4rec.runner.records as records

    path, _ = _first(results)
    path.unlink()  # one cell to compute
    snap = Snapshot(results)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(records.os, "fsync", full)
    expect_error(cli(capsys, "run", results.parent / "tiny.yaml", "--results", results,
                     "--no-progress"), "No space left on device", snapshot=snap)
    no_temp_files(results)


def test_concurrent_resolved_recipe_writers(results) -> None:
    from cure4rec.runner.recipe import load_recipe, save_resolved

    recipe = load_recipe(results.parent / "tiny.yaml")
    target = results / "tiny" / "recipe.resolved.yaml"
    errors: list[BaseException] = []

    def go() -> None:
        try:
            for _ in range(20):
                save_resolved(recipe, target)
        except BaseException as exc:  # noqa: BLE001 - collected for the assert
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and target.is_file()
    no_temp_files(target.parent)


def test_train_out_is_a_file(capsys, tmp_path) -> None:
    out = write(tmp_path / "out.txt", "x")
    snap = Snapshot(tmp_path)
    expect_error(cli(capsys, "train", "--dataset", "synthetic", "--out", out, "--epochs", "1"),
                 "--out", "is a file", snapshot=snap)


def test_train_bad_dataset_leaves_no_folder(capsys, tmp_path) -> None:
    expect_error(cli(capsys, "train", "--dataset", "nosuch", "--out", tmp_path / "o"),
                 "unknown dataset 'nosuch'")
    assert not (tmp_path / "o").exists()


def test_leaderboard_without_records(capsys, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    expect_error(cli(capsys, "leaderboard", "build", "--results", tmp_path / "empty"),
                 "no run records")
    expect_error(cli(capsys, "leaderboard", "build", "--results", tmp_path / "nope"),
                 "does not exist")


def test_leaderboard_out_is_a_file(capsys, results, tmp_path) -> None:
    out = write(tmp_path / "lb.txt", "x")
    snap = Snapshot(tmp_path)
    expect_error(cli(capsys, "leaderboard", "build", "--results", results, "--out", out),
                 "--out", "is a file", snapshot=snap)
