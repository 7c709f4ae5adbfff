"""Runner: resume after a crash, every cell once; same records on every executor."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from cure4rec.runner import expand_cells, load_recipe, run_recipe
from cure4rec.runner.executors import InProcessExecutor, ProcessExecutor, RayExecutor
from cure4rec.runner.failures import summary_line
from cure4rec.runner.toy import toy_cell
from tests._optional import require


def _metrics(root: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text())["metrics"]
            for p in sorted(root.glob("*/records/*.json"))}


def test_failing_cell_is_recorded_run_goes_on_rerun_retries_only_it(
        recipe_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """One cell raising mid-run leaves an error record, every other cell completes, and a
    re-run retries exactly that cell."""
    r = load_recipe(recipe_dir / "child.yaml")
    cells = expand_cells(r)
    bad = cells[7].config_hash
    monkeypatch.setenv("CURE4REC_TOY_FAIL_AT", bad)
    s = run_recipe(r, tmp_path / "res", fn=toy_cell, progress=False)
    assert len(s.ran) == len(cells) and [f["config_hash"] for f in s.failed] == [bad]
    recs = {h: json.loads((tmp_path / "res" / "tiny" / "records" / f"{h}.json").read_text())
            for h in (c.config_hash for c in cells)}
    err = recs[bad]
    assert err["status"] == "error" and err["metrics"] == {}
    assert err["error"]["type"] == "ToyCrash" and bad in err["error"]["message"]
    assert len(err["error"]["traceback_sha256"]) == 64
    assert all("status" not in rec and rec["metrics"] for h, rec in recs.items() if h != bad)
    assert "failed (" + bad in summary_line(s.failed)
    # a re-run retries only the failed cell (and it now succeeds)
    monkeypatch.delenv("CURE4REC_TOY_FAIL_AT")
    again = run_recipe(r, tmp_path / "res", fn=toy_cell, progress=False)
    assert again.ran == [bad] and again.skipped == len(cells) - 1 and again.failed == []
    assert "status" not in json.loads(
        (tmp_path / "res" / "tiny" / "records" / f"{bad}.json").read_text())
    assert (tmp_path / "res" / "tiny" / "recipe.resolved.yaml").is_file()
    final = run_recipe(r, tmp_path / "res", fn=toy_cell, progress=False)
    assert final.ran == [] and final.skipped == len(cells)


def test_cli_exits_nonzero_with_one_line_summary(recipe_dir: Path, tmp_path: Path,
                                                 monkeypatch, capsys) -> None:
    from cure4rec.commands import run as run_cmd
    from cure4rec.runner import run as run_mod

    r = load_recipe(recipe_dir / "child.yaml")
    bad = expand_cells(r)[2].config_hash
    monkeypatch.setenv("CURE4REC_TOY_FAIL_AT", bad)
    real = run_mod.run_recipe
    monkeypatch.setattr(run_mod, "run_recipe", lambda *a, **k: real(*a, fn=toy_cell, **k))
    args = argparse.Namespace(recipe=str(recipe_dir / "child.yaml"), executor="inprocess",
                              workers=1, address=None, results=str(tmp_path / "res"),
                              limit=None, dry_run=False, no_progress=True)
    assert run_cmd.main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tiny: 1 cell(s) failed (" + bad)
    assert "ToyCrash" in err[0]


def test_limit(recipe_dir: Path, tmp_path: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    assert len(run_recipe(r, tmp_path, fn=toy_cell, progress=False, limit=3).ran) == 3


@pytest.mark.slow
def test_process_pool_matches_inprocess(recipe_dir: Path, tmp_path: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    run_recipe(r, tmp_path / "a", InProcessExecutor(), fn=toy_cell, progress=False, limit=4)
    run_recipe(r, tmp_path / "b", ProcessExecutor(2), fn=toy_cell, progress=False, limit=4)
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")


@pytest.mark.slow
def test_killed_worker_costs_only_its_cell(recipe_dir: Path, tmp_path: Path,
                                           monkeypatch) -> None:
    """A worker SIGKILLed mid-cell (what the out-of-memory killer does): that cell gets a
    WorkerDied error record, every other cell (the one sharing the pool at the time
    included) completes with the in-process metrics, and a re-run retries only it."""
    r = load_recipe(recipe_dir / "child.yaml")
    cells = expand_cells(r)[:6]
    bad = cells[3].config_hash
    run_recipe(r, tmp_path / "a", InProcessExecutor(), fn=toy_cell, progress=False, limit=6)
    monkeypatch.setenv("CURE4REC_TOY_KILL_AT", bad)
    monkeypatch.setenv("CURE4REC_TOY_PARENT", str(os.getpid()))
    s = run_recipe(r, tmp_path / "b", ProcessExecutor(2), fn=toy_cell, progress=False, limit=6)
    assert sorted(s.ran) == sorted(c.config_hash for c in cells)
    assert [f["config_hash"] for f in s.failed] == [bad]
    err = json.loads((tmp_path / "b" / "tiny" / "records" / f"{bad}.json").read_text())
    assert err["status"] == "error" and err["error"]["type"] == "WorkerDied"
    assert "again when run alone" in err["error"]["message"]
    good = {h: m for h, m in _metrics(tmp_path / "b").items() if h != bad}
    assert good == {h: m for h, m in _metrics(tmp_path / "a").items() if h != bad}
    assert len(good) == 5
    monkeypatch.delenv("CURE4REC_TOY_KILL_AT")
    again = run_recipe(r, tmp_path / "b", ProcessExecutor(2), fn=toy_cell, progress=False,
                       limit=1)  # the first pending cell is the failed one (the rest: beyond 6)
    assert again.ran == [bad] and again.failed == []


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


@pytest.mark.slow
def test_real_method_nan_past_first_users_is_an_error_record(tmp_path: Path) -> None:
    """A method whose model scores NaN for user 100 (past the old 64-user probe) fails its
    contract check instead of crashing inside sklearn; its cell is an error record, the
    other cells complete, and a re-run retries only that cell."""
    (tmp_path / "nan.yaml").write_text(
        "name: nan\n"
        "dataset: {name: synthetic, params: {n_users: 120, n_items: 80, "
        "n_interactions: 1500}}\n"
        "models: [{name: bpr, config: {dim: 8, epochs: 2, batch_size: 512}}]\n"
        "methods: [{name: 'tests.runner.nan_method:NanUnlearn'}, {name: scif}]\n"
        "forget: {strategy: random, fraction: 0.05}\nseeds: [0]\n"
        "references: {retrain_seeds: 3}\n"
        "evaluator: {ks: [10], bootstrap: 10, neighbours_k: 20, svd_dim: 8, difficulty: null,"
        " shadow_epochs: 2}\n")
    r = load_recipe(tmp_path / "nan.yaml", allow_code=True)
    cells = expand_cells(r)
    bad = next(c.config_hash for c in cells if c.method["name"].endswith("NanUnlearn"))
    s = run_recipe(r, tmp_path / "res", progress=False)
    assert [f["config_hash"] for f in s.failed] == [bad] and len(s.ran) == len(cells) == 4
    err = s.failed[0]["error"]
    assert err["type"] == "MethodContractError"
    assert "non-finite scores for 1 user(s), first user 100" in err["message"]
    recs = _metrics(tmp_path / "res")
    assert recs[bad] == {} and all(v for h, v in recs.items() if h != bad)
    again = run_recipe(r, tmp_path / "res", progress=False)
    assert again.ran == [bad] and again.skipped == 3 and len(again.failed) == 1
