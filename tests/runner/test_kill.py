"""A real run killed with SIGKILL mid-way and re-run: every cell recorded once, no debris."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cure4rec.runner import expand_cells, load_recipe
from cure4rec.runner.records import is_complete

RECIPE = """name: killme
dataset: {name: synthetic, params: {n_users: 120, n_items: 80, n_interactions: 1500}}
models: [{name: bpr, config: {dim: 8, epochs: 3, batch_size: 512}}]
methods: [{name: retrain}, {name: sisa, config: {shards: 2}}, {name: scif}]
forget: {strategy: random, fraction: 0.05}
seeds: [0]
evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null,
            mia: false, mio: false}
"""


def _cli(recipe: Path, results: Path) -> list[str]:
    return [sys.executable, "-m", "cure4rec", "run", str(recipe), "--results", str(results),
            "--no-progress"]


@pytest.mark.slow
def test_sigkill_then_rerun(tmp_path: Path) -> None:
    recipe = tmp_path / "killme.yaml"
    recipe.write_text(RECIPE)
    expected = sorted(c.config_hash for c in expand_cells(load_recipe(recipe)))
    records = tmp_path / "res" / "killme" / "records"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_cli(recipe, tmp_path / "res"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    try:
        while not list(records.glob("[0-9a-f]*.json")):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no record appeared within 300 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    survived = sorted(p.stem for p in records.glob("[0-9a-f]*.json"))
    assert 1 <= len(survived) < len(expected)  # killed mid-way, not after the last cell

    again = subprocess.run(_cli(recipe, tmp_path / "res"), env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (f"{len(expected)} cells, ran {len(expected) - len(survived)}, "
            f"skipped {len(survived)}") in again.stdout
    assert sorted(p.stem for p in records.glob("*.json")) == expected  # each cell once
    assert all(is_complete(records / f"{h}.json", h) for h in expected)
    leftovers = [p for p in (tmp_path / "res").rglob("*")
                 if p.name.startswith(".tmp-") or p.suffix == ".tmp"]
    assert leftovers == []
