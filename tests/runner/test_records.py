"""Run records: round trip, validation, old schema migration."""

from __future__ import annotations

import json
from pathlib import Path

from cure4rec.runner import expand_cells, load_recipe
from cure4rec.runner.records import (
    SCHEMA_VERSION,
    is_complete,
    load_record,
    load_records,
    remove_stale_temps,
    temp_prefix,
    write_record,
)
from cure4rec.runner.toy import toy_cell

FIXTURES = Path(__file__).parents[1] / "fixtures" / "records"


def test_roundtrip_and_validity(recipe_dir: Path, tmp_path: Path) -> None:
    cell = expand_cells(load_recipe(recipe_dir / "child.yaml"))[0]
    rec = toy_cell(cell)
    path = write_record(rec, tmp_path)
    assert path.name == f"{cell.config_hash}.json"
    assert load_record(path) == json.loads(json.dumps(rec))
    assert all(len(str(v).split(".")[-1]) <= 6 for v in rec["metrics"].values())
    assert is_complete(path, cell.config_hash)
    assert not is_complete(path, "0" * 16)
    path.write_text("{truncated")
    assert not is_complete(path, cell.config_hash)
    assert not list(tmp_path.glob(".tmp-*"))


def test_old_schema_loads() -> None:
    rec = load_record(FIXTURES / "v0-sisa-seed0.json")
    assert rec["schema_version"] == SCHEMA_VERSION and rec["migrated_from"] == 0
    assert rec["metrics"]["utility.ndcg@20"] == 0.123457
    assert rec["metrics"]["efficiency.unlearn_wall_s"] == 1.5
    assert rec["method"] == {"name": "sisa", "config": {"shards": 4}}
    # the dataset's version is v0's `version_tag`, not its schema `version` (was "0")
    assert rec["dataset"] == {"name": "synthetic", "version": "1", "sha256": "ab12"}
    assert rec["split"] == {"id": "synthetic-random-5pct", "sha256": "cd34"}
    assert load_records([FIXTURES / "v0-sisa-seed0.json"])[0]["config_hash"] == rec["config_hash"]


def test_stale_temps_of_dead_writers_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".tmp-{dead}-abc.json"
    legacy = tmp_path / ".tmp-k2j3h4.json"  # round-1 name, no pid
    mine = tmp_path / f"{temp_prefix()}xyz.json"
    record = tmp_path / "0123456789abcdef.json"
    for p in (stale, legacy, mine, record):
        p.write_text("{")
    assert remove_stale_temps(tmp_path) == sorted([legacy, stale])
    assert sorted(tmp_path.iterdir()) == sorted([mine, record])
    assert remove_stale_temps(tmp_path / "missing") == []
