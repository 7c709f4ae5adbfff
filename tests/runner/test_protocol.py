"""Protocol cure4rec-eval/2 in the runner: disjoint references, random forget sets per seed,
the method's own original, the protocol in every record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.methods.retrain import reference_context
from cure4rec.runner import expand_cells, load_recipe


def test_references_of_different_cell_seeds_are_disjoint() -> None:
    seeds = {(s, j): reference_context(RunContext(seed=s), "retrain-reference", j).derived_seed()
             for s in range(3) for j in range(8)}
    assert len(set(seeds.values())) == 24  # no reference shared between cells or within one
    # the old scheme (root seed + offset) shared all but one between seeds 0 and 1
    old = lambda s, j: RunContext(seed=s + j).child("retrain-reference").derived_seed()
    assert old(0, 1) == old(1, 0)


def test_random_forget_set_follows_the_cell_seed_core_does_not(recipe_dir: Path) -> None:
    cells = expand_cells(load_recipe(recipe_dir / "child.yaml"))
    forget = {(c.forget["strategy"], c.seed): c.forget["seed"] for c in cells}
    assert forget[("random", 0)] == 0 and forget[("random", 1)] == 1
    assert forget[("core", 0)] == forget[("core", 1)] == 0


def test_fewer_than_three_references_is_a_recipe_error(recipe_dir: Path) -> None:
    (recipe_dir / "two.yaml").write_text("base: child.yaml\nreferences: {retrain_seeds: 2}\n")
    with pytest.raises(ConfigError, match="retrain_seeds must be >= 3"):
        load_recipe(recipe_dir / "two.yaml")


@pytest.mark.slow
def test_records_carry_the_protocol_and_the_methods_own_original(recipe_dir: Path) -> None:
    from cure4rec.metrics.evaluator import EVALUATION_PROTOCOL
    from cure4rec.runner.pipeline import run_cell

    (recipe_dir / "p.yaml").write_text(
        "base: base.yaml\nmethods: [{name: retrain}, {name: finetune}]\nseeds: [0]\n"
        "forget: {strategy: core, fraction: 0.1}\nreferences: {retrain_seeds: 3}\n"
        "models: [{name: bpr, config: {dim: 8, epochs: 20, lr: 0.02, batch_size: 512}}]\n"
        "evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null,"
        " mia: false}\n")
    cells = {c.method["name"]: c for c in expand_cells(load_recipe(recipe_dir / "p.yaml"))}
    recs = {n: run_cell(c) for n, c in cells.items()}
    assert {r["info"]["evaluation_protocol"] for r in recs.values()} == {EVALUATION_PROTOCOL}
    # single-model methods unlearn from the group's original: the calibrated score of the
    # "before" model is the same for both method rows, and the no-op side of it remembers
    a, b = recs["retrain"]["metrics"], recs["finetune"]["metrics"]
    assert a["completeness.calibrated.original"] == b["completeness.calibrated.original"] > 0.5
    assert np.isfinite(a["completeness.calibrated"]) and a["completeness.calibrated.n_references"] == 3
    t = recs["retrain"]["timings"]
    assert "evaluate" in t and "method_references" not in t  # plain retrains: group's refs
    # where the evaluation's CPU went: its phases, which lie inside the measured evaluate
    phases = t["evaluate_phases_cpu_s"]
    assert {"utility", "fairness", "calibrated", "completeness"} <= set(phases)
    assert "attacks" not in phases  # mia: false
    assert min(phases.values()) >= 0
    assert sum(phases.values()) <= t["evaluate"]["cpu_s"] + 1e-3
