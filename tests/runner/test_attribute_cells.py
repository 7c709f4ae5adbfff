"""Attribute requests run through the runner, the evaluator and the leaderboard (ML-100K).

`forget: {strategy: attribute, fraction: null, options: {attribute: gender}}` makes an
attribute request (nothing deleted); only the attribute methods take it, the deletion
methods are skipped by name. Completeness is the attribute-inference attack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cure4rec.errors import ConfigError
from cure4rec.runner import expand_cells, load_recipe, run_recipe
from cure4rec.runner.cells import unsupported_requests

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
if not DATA.exists():
    DATA = Path("/work/shared/datasets")

RECIPE = """name: attr
dataset: {{name: ml-100k, data_dir: {data}}}
split: {{protocol: random, ratios: [0.8, 0.1, 0.1], seed: 0}}
forget: {{strategy: {strategy}, fraction: null, options: {{attribute: gender}}}}
models: [{{name: bpr, config: {{dim: 16, epochs: 8, batch_size: 2048, lr: 0.01, patience: 3}}}}]
methods:
  - {{name: retrain}}
  - {{name: attribute-d2d, config: {{steps: 150, lr: 0.01, reg: param_l2}}}}
  - {{name: attribute-u2u, config: {{steps: 50}}}}
seeds: [0]
evaluator: {{ks: [20], bootstrap: 0, neighbours_k: 20, difficulty: null, mia: false,
            attribute_attackers: [mlp, gb], attribute_folds: 3}}
"""


def _write(tmp_path: Path, strategy: str = "attribute") -> Path:
    path = tmp_path / "attr.yaml"
    path.write_text(RECIPE.format(data=DATA, strategy=strategy))
    return path


def test_attribute_strategy_needs_the_attribute_option(tmp_path: Path) -> None:
    path = _write(tmp_path)
    path.write_text(path.read_text().replace("options: {attribute: gender}", "options: {}"))
    with pytest.raises(ConfigError, match="forget.options.attribute"):
        load_recipe(path)
    path.write_text(path.read_text().replace("options: {}", "options: {colour: red}"))
    with pytest.raises(ConfigError, match=r"forget.options: unknown key\(s\) colour"):
        load_recipe(path)


def test_deletion_and_attribute_methods_are_paired_with_their_requests(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, "[attribute, core]"), validate_components=False)
    assert set(unsupported_requests(recipe)) == {("attribute", "retrain"),
                                                 ("core", "attribute-d2d"),
                                                 ("core", "attribute-u2u")}
    methods = {(c.forget["strategy"], c.method["name"]) for c in expand_cells(recipe)
               if c.kind == "method"}
    assert methods == {("attribute", "attribute-d2d"), ("attribute", "attribute-u2u"),
                       ("core", "retrain")}


@pytest.mark.slow
@pytest.mark.realdata
def test_attribute_cell_reports_the_attack_and_builds_a_leaderboard(tmp_path: Path) -> None:
    if not (DATA / "ml-100k").exists():
        pytest.skip("ml-100k not available")
    from cure4rec.leaderboard import build_leaderboard
    from cure4rec.leaderboard.headline import headline_metrics
    from cure4rec.runner.records import find_records, load_records

    recipe = load_recipe(_write(tmp_path))
    summary = run_recipe(recipe, tmp_path / "res", progress=False)
    assert len(summary.ran) == 4  # original, retrain (reference rows), d2d, u2u
    recs = {r["cell"]["method"]["name"] if r["kind"] == "method" else r["kind"]: r
            for r in load_records(find_records(tmp_path / "res"))}
    d2d, original = recs["attribute-d2d"]["metrics"], recs["original"]["metrics"]
    assert recs["attribute-d2d"]["split"]["id"].endswith("/attribute-gender-all/seed0")
    # The attack is seeded by the cell, not the model: each method row's ".original" value is
    # the original row's own value, to the last bit (u2u reads it from the group's cache).
    u2u = recs["attribute-u2u"]["metrics"]
    for att in ("mlp", "gb"):
        key = f"completeness.attr_auc.{att}"
        assert d2d[key + ".original"] == u2u[key + ".original"] == original[key]
        assert u2u[key] != d2d[key]  # the unlearned models' own attacks are not cached
    assert original["completeness.attr_auc.mlp"] > 0.6  # gender leaks from a trained BPR
    assert d2d["completeness.attr_auc.mlp"] < original["completeness.attr_auc.mlp"] - 0.05
    assert d2d["completeness.attr_chance_bacc"] == 0.5
    assert abs(d2d["utility.ndcg@20"] - original["utility.ndcg@20"]) < 0.03
    # No deletion: the deletion-based completeness keys are absent, not NaN-filled.
    assert not any(k.startswith(("completeness.topk_overlap", "utility.neighbours"))
                   for k in d2d)
    board = build_leaderboard(load_records(find_records(tmp_path / "res")))
    (section,) = board.sections
    assert "completeness.attr_auc_max" in headline_metrics(section)  # the strongest adversary
    assert section.directions["completeness.attr_auc_max"] == "lower"
    assert section.directions["completeness.attr_auc.gb"] == "lower"
