"""The real cell pipeline: sharded methods get shardGF from their served partition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cure4rec.runner import expand_cells, load_recipe

REAL = ("base: base.yaml\nmethods: [{name: retrain}, {name: sisa, config: {shards: 3}}]\n"
        "seeds: [0]\nforget: {strategy: random, fraction: 0.05}\n"
        "evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null,"
        " completeness: false, mia: false, mio: false}\n")


def test_sharded_cell_reports_shardgf(recipe_dir: Path) -> None:
    from cure4rec.context import RunContext
    from cure4rec.methods.base import make_method
    from cure4rec.models.base import ModelSpec
    from cure4rec.runner.pipeline import forget_split_of, run_cell

    (recipe_dir / "real.yaml").write_text(REAL)
    cells = {c.method["name"]: c for c in expand_cells(load_recipe(recipe_dir / "real.yaml"))}
    sisa, retrain = run_cell(cells["sisa"]), run_cell(cells["retrain"])
    assert "fairness.shardgf_ndcg@20" not in retrain["metrics"]
    assert "fairness.shardgf_ndcg@20" not in run_cell(cells["original"])["metrics"]

    # Known answer, computed here without cure4rec's metric code: each test user's NDCG@20
    # over all items outside their retained train items (ties: lower item index first),
    # then the population variance over shards of the shards' mean NDCG, with shards from
    # the partition of the retained data after unlearning.
    spec = cells["sisa"]
    fs, ctx = forget_split_of(spec), RunContext(seed=spec.seed)
    method = make_method("sisa", ModelSpec(spec.model["name"], spec.model["config"]),
                         spec.method["config"])
    model = method.unlearn(method.learn(fs.train, ctx, valid=fs.full_valid), fs.request,
                           ctx).model
    users = np.unique(fs.test.user)
    scores = model.score(users).detach().double().numpy()
    ndcg = []
    for row, u in zip(scores, users):
        row = row.copy()
        # the evaluator's history: train and validation items (the same for every row)
        row[fs.train.item[fs.train.user == u]] = -np.inf
        row[fs.valid.item[fs.valid.user == u]] = -np.inf
        top = np.lexsort((np.arange(len(row)), -row))[:20]
        truth = set(fs.test.item[fs.test.user == u].tolist())
        dcg = sum(1 / np.log2(r + 2) for r, i in enumerate(top) if i in truth)
        ndcg.append(dcg / sum(1 / np.log2(r + 2) for r in range(min(len(truth), 20))))
    ndcg, shards = np.array(ndcg), model.user_shard[users]
    assert len(np.unique(shards)) == 3
    means = [ndcg[shards == s].mean() for s in np.unique(shards)]
    expected = float(np.mean((np.array(means) - np.mean(means)) ** 2))
    assert expected > 0
    assert sisa["metrics"]["fairness.shardgf_ndcg@20"] == pytest.approx(expected, abs=1e-6)


MIA = ("base: base.yaml\nmethods: [{name: retrain}, {name: scif}]\nseeds: [0]\n"
       "forget: {strategy: random, fraction: 0.05}\n"
       "evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null,"
       " mia_topk: 20, mio: false}\n")


@pytest.mark.slow
def test_group_memo_does_not_change_metrics(recipe_dir: Path, monkeypatch) -> None:
    """Methods of a group share references and attack shadows; a cold run gives the same."""
    from cure4rec.runner import pipeline

    (recipe_dir / "mia.yaml").write_text(MIA)
    cells = [c for c in expand_cells(load_recipe(recipe_dir / "mia.yaml")) if c.kind == "method"]
    strip = lambda r: {k: v for k, v in r["metrics"].items() if not k.startswith("efficiency.")}
    monkeypatch.setattr(pipeline, "_GROUPS", type(pipeline._GROUPS)())
    warm = [strip(pipeline.run_cell(c)) for c in cells]
    assert len(pipeline._GROUPS) == 1 and pipeline._GROUPS.popitem()[1][2]  # shadows cached
    cold = []
    for c in reversed(cells):
        pipeline._GROUPS.clear()
        cold.insert(0, strip(pipeline.run_cell(c)))
    assert "completeness.mia_auc" in warm[1] and warm == cold


RECOVERY = ("base: base.yaml\nmethods: [{name: retrain}]\nseeds: [0]\n"
            "forget: {strategy: random, fraction: 0.05}\n"
            "evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null,"
            " completeness: false, mia: false, mio: false, recovery: %s}\n")


def test_recovery_reaches_records_only_when_enabled(recipe_dir: Path) -> None:
    from cure4rec.runner.pipeline import run_cell

    for flag in ("false", "true"):
        (recipe_dir / f"rec-{flag}.yaml").write_text(RECOVERY % flag)
        cell = next(c for c in expand_cells(load_recipe(recipe_dir / f"rec-{flag}.yaml"))
                    if c.method["name"] == "retrain" and c.kind != "retrain")
        metrics = run_cell(cell)["metrics"]
        has = any(k.startswith("completeness.recovery") for k in metrics)
        assert has == (flag == "true")
    # the published ratio is its published parts' ratio (IFRU-style recovery, on the
    # targets' mean percentile): (original − unlearned) / (original − retrain)
    key = "completeness.recovery_target_rank"
    orig, unl, ref = metrics[f"{key}.original"], metrics[key], metrics[f"{key}.retrain"]
    assert orig > ref  # the injected profiles lifted the targets: something to undo
    assert metrics["completeness.recovery_rank"] == pytest.approx((orig - unl) / (orig - ref),
                                                                  abs=1e-4)
    assert 0.0 <= metrics["completeness.recovery_rank"] <= 2.0  # retrain is exact: near 1


def test_exact_sharded_methods_are_judged_against_their_own_algorithm(recipe_dir: Path) -> None:
    """`references.kind: auto`: SISA against SISA learned on the retained data, retrain
    against plain retrains; the resolved kind is in the record."""
    from cure4rec.runner.pipeline import run_cell

    text = REAL.replace("completeness: false", "completeness: true") + \
        "references: {retrain_seeds: 3, method_seeds: 3}\n"
    (recipe_dir / "refs.yaml").write_text(text)
    cells = {c.method["name"]: c for c in expand_cells(load_recipe(recipe_dir / "refs.yaml"))}
    sisa, retrain = run_cell(cells["sisa"]), run_cell(cells["retrain"])
    assert sisa["info"]["reference_kind"] == "method"
    assert retrain["info"]["reference_kind"] == "retrain"
    assert sisa["info"]["n_references"] == retrain["info"]["n_references"] == 3
    # the own-algorithm references are learned in the cell, and their cost is recorded
    assert sisa["timings"]["method_references"]["cpu_s"] > 0
    assert "method_references" not in retrain["timings"]
    # SISA is exact: against its own algorithm its neighbours' rankings sit at seed noise
    assert 0.5 < sisa["metrics"]["completeness.topk_overlap_ratio.neighbours"] < 1.6
    forced = {**cells["sisa"].references, "kind": "retrain"}
    from dataclasses import replace

    plain = run_cell(replace(cells["sisa"], references=forced))
    assert plain["info"]["reference_kind"] == "retrain"
    assert plain["config_hash"] != sisa["config_hash"]
