"""Resume recomputes each record's config hash from its cell; the stored hash is not trusted."""

from __future__ import annotations

import json
from pathlib import Path

from cure4rec.config import config_hash
from cure4rec.runner import expand_cells, load_recipe, run_recipe
from cure4rec.runner.records import is_complete, write_record
from cure4rec.runner.toy import toy_cell


def _tamper(path: Path, **cell_changes: object) -> dict:
    """Edit the record's cell in place, keeping the stored `config_hash` as it was."""
    rec = json.loads(path.read_text())
    rec["cell"] = {**rec["cell"], **cell_changes}
    path.write_text(json.dumps(rec))
    return rec


def test_resume_recomputes_the_config_hash(recipe_dir: Path, tmp_path: Path) -> None:
    cells = expand_cells(load_recipe(recipe_dir / "child.yaml"))
    cell = cells[0]
    path = write_record(toy_cell(cell), tmp_path)
    assert is_complete(path, cell.config_hash)
    # the stored hash still says `cell`, but the record describes another seed's cell
    rec = _tamper(path, seed=cell.seed + 1)
    assert rec["config_hash"] == cell.config_hash != config_hash(rec["cell"])
    assert not is_complete(path, cell.config_hash)
    # a record of another cell whose stored hash was overwritten to look like this one
    other = toy_cell(cells[1])
    other["config_hash"] = cell.config_hash
    path.write_text(json.dumps(other))
    assert not is_complete(path, cell.config_hash)


def test_run_reruns_a_cell_whose_record_does_not_hash_to_its_name(recipe_dir: Path,
                                                                  tmp_path: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    first = run_recipe(r, tmp_path, fn=toy_cell, progress=False)
    records = tmp_path / "tiny" / "records"
    victim = records / f"{sorted(first.ran)[3]}.json"
    _tamper(victim, seed=99)
    again = run_recipe(r, tmp_path, fn=toy_cell, progress=False)
    assert again.ran == [victim.stem] and again.skipped == first.cells - 1
    rec = json.loads(victim.read_text())
    assert config_hash(rec["cell"]) == rec["config_hash"] == victim.stem  # rewritten whole
