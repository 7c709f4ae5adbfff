"""Executor invariance: the same cells give bit-identical records in-process, in the
process pool and on Ray — every metric value (all keys; only the measured times and
memory of `efficiency.*` differ by nature), the split and the info — and every cell
computes with exactly its `threads` whatever the executor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cure4rec.runner import load_recipe, run_recipe
from cure4rec.runner.executors import InProcessExecutor, ProcessExecutor, RayExecutor
from tests._optional import require

RECIPE = """name: inv
dataset: {name: synthetic, params: {n_users: 120, n_items: 80, n_interactions: 1500}}
models: [{name: bpr, config: {dim: 8, epochs: 2, batch_size: 512}}]
methods: [{name: scif}, {name: sisa, config: {shards: 2}}]
forget: {strategy: random, fraction: 0.05}
seeds: [0]
references: {retrain_seeds: 3}
evaluator: {ks: [10], bootstrap: 10, neighbours_k: 20, svd_dim: 8, difficulty: null,
            shadow_epochs: 2}
"""
MEASURED = "efficiency."  # wall / CPU seconds, RSS and their ratios: measurements


def _records(root: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(root.glob("*/records/*.json"))}


def _comparable(rec: dict) -> dict:
    return {"metrics": {k: v for k, v in rec["metrics"].items() if not k.startswith(MEASURED)},
            "keys": sorted(rec["metrics"]), "split": rec["split"], "dataset": rec["dataset"],
            "info": rec["info"], "cell": rec["cell"], "method": rec["method"]}


@pytest.mark.slow
def test_bit_identical_records_on_all_three_executors(tmp_path: Path) -> None:
    import torch

    ray = require("ray")
    (tmp_path / "inv.yaml").write_text(RECIPE)
    r = load_recipe(tmp_path / "inv.yaml")
    old = torch.get_num_threads()
    torch.set_num_threads(2)  # the driver's own thread count must not leak into a cell
    try:
        run_recipe(r, tmp_path / "inprocess", InProcessExecutor(), progress=False)
    finally:
        torch.set_num_threads(old)
    run_recipe(r, tmp_path / "pool", ProcessExecutor(2), progress=False)
    try:
        run_recipe(r, tmp_path / "ray", RayExecutor(workers=1), progress=False)
    finally:
        ray.shutdown()
    a, b, c = (_records(tmp_path / x) for x in ("inprocess", "pool", "ray"))
    assert len(a) == 4 and a.keys() == b.keys() == c.keys()
    for h in a:
        assert a[h]["metrics"] and "status" not in a[h]
        assert _comparable(a[h]) == _comparable(b[h]) == _comparable(c[h]), h


def test_cell_computes_with_its_threads(monkeypatch) -> None:
    """`run_cell` pins torch and BLAS threads to `spec.threads` for the whole cell (the
    cause of `mia_auc.retrain` 0.501132 in-process vs 0.476234 in a pool worker)."""
    import torch
    from threadpoolctl import threadpool_info

    from cure4rec.runner import pipeline
    from cure4rec.runner.cells import expand_cells
    from cure4rec.runner.recipe import recipe_from_dict

    seen: list[tuple[int, set[int]]] = []

    def fake(spec):
        seen.append((torch.get_num_threads(), {p["num_threads"] for p in threadpool_info()}))
        return {}

    monkeypatch.setattr(pipeline, "_run_cell", fake)
    import yaml

    cell = expand_cells(recipe_from_dict(yaml.safe_load(RECIPE)))[0]
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pipeline.run_cell(cell)
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(old)
    assert seen == [(1, {1})]
