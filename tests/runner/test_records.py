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
    assert load_records([FIXTURES / "v0-sisa-seed0.json"])[0]["config_hash"] == rec["config_hash"]
