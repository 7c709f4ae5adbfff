"""Runner: resume after a crash, every cell once; same records on every executor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cure4rec.runner import expand_cells, load_recipe, run_recipe
from cure4rec.runner.executors import InProcessExecutor, ProcessExecutor, RayExecutor
from cure4rec.runner.toy import ToyCrash, toy_cell
from tests._optional import require


def _metrics(root: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text())["metrics"]
            for p in sorted(root.glob("*/records/*.json"))}


def test_crash_then_resume(recipe_dir: Path, tmp_path: Path, monkeypatch) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    cells = expand_cells(r)
    monkeypatch.setenv("CURE4REC_TOY_FAIL_AT", cells[7].config_hash)
    with pytest.raises(ToyCrash):
        run_recipe(r, tmp_path / "res", fn=toy_cell, progress=False)
    assert len(_metrics(tmp_path / "res")) == 7  # cells before the crash are kept
    monkeypatch.delenv("CURE4REC_TOY_FAIL_AT")
    s = run_recipe(r, tmp_path / "res", fn=toy_cell, progress=False)
    assert s.skipped == 7 and len(s.ran) == len(cells) - 7
    recs = sorted((tmp_path / "res" / "tiny" / "records").glob("*.json"))
    assert [p.stem for p in recs] == sorted(c.config_hash for c in cells)
    assert (tmp_path / "res" / "tiny" / "recipe.resolved.yaml").is_file()
    again = run_recipe(r, tmp_path / "res", fn=toy_cell, progress=False)
    assert again.ran == [] and again.skipped == len(cells)


def test_limit(recipe_dir: Path, tmp_path: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    assert len(run_recipe(r, tmp_path, fn=toy_cell, progress=False, limit=3).ran) == 3


@pytest.mark.slow
def test_process_pool_matches_inprocess(recipe_dir: Path, tmp_path: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    run_recipe(r, tmp_path / "a", InProcessExecutor(), fn=toy_cell, progress=False, limit=4)
    run_recipe(r, tmp_path / "b", ProcessExecutor(2), fn=toy_cell, progress=False, limit=4)
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")


@pytest.mark.ray
@pytest.mark.slow
def test_ray_matches_inprocess(recipe_dir: Path, tmp_path: Path) -> None:
    ray = require("ray")  # CI (CURE4REC_REQUIRE_OPTIONAL=1): a broken Ray fails here

    r = load_recipe(recipe_dir / "child.yaml")
    run_recipe(r, tmp_path / "a", InProcessExecutor(), fn=toy_cell, progress=False, limit=4)
    try:
        run_recipe(r, tmp_path / "b", RayExecutor(workers=1), fn=toy_cell, progress=False,
                   limit=4)
    finally:
        ray.shutdown()
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")


@pytest.mark.slow
def test_real_cell_same_on_process_pool(recipe_dir: Path, tmp_path: Path) -> None:
    """The real pipeline (training + evaluator) gives identical metrics in a spawned worker."""
    (recipe_dir / "real.yaml").write_text(
        "base: base.yaml\nmethods: [{name: sisa, config: {shards: 2}}]\nseeds: [0]\n"
        "references: {retrain_seeds: 3}\n"
        "evaluator: {ks: [10], bootstrap: 10, neighbours_k: 20, svd_dim: 8, difficulty: null,"
        " mia: false, mio: false}\n")
    r = load_recipe(recipe_dir / "real.yaml")
    run_recipe(r, tmp_path / "a", InProcessExecutor(), progress=False)
    run_recipe(r, tmp_path / "b", ProcessExecutor(1), progress=False)
    a, b = _metrics(tmp_path / "a"), _metrics(tmp_path / "b")
    strip = lambda m: {k: v for k, v in m.items() if not k.startswith("efficiency.")}
    assert len(a) == 3 and {k: strip(v) for k, v in a.items()} == {k: strip(v) for k, v in b.items()}
