"""The four-aspect evaluator: config validation, key catalogue, exact methods ≈ retrain."""

from __future__ import annotations

import json

import pytest

from cure4rec.errors import ConfigError
from cure4rec.methods.base import make_method
from cure4rec.metrics.catalog import metric_info
from cure4rec.metrics.efficiency import Timing
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_cell, evaluate_reference
from tests.metrics._cells import SPEC, cell

FAST = EvaluatorConfig(bootstrap=50, mia_topk=50, svd_dim=16, neighbours_k=100)


def test_config_is_validated() -> None:
    assert EvaluatorConfig.from_dict({"ks": [5, 10]}).ks == (5, 10)
    with pytest.raises(ConfigError, match="nope"):
        EvaluatorConfig.from_dict({"nope": 1})
    with pytest.raises(ConfigError):
        EvaluatorConfig(mode="other")
    with pytest.raises(ConfigError):
        EvaluatorConfig(difficulty="vibes")


def test_catalog_directions() -> None:
    assert metric_info("utility.ndcg@20").direction == "higher"
    assert metric_info("completeness.mia_auc").direction == "target"
    assert metric_info("completeness.mia_auc.original").direction == "none"
    assert metric_info("completeness.js.forgotten").direction == "lower"
    assert metric_info("efficiency.speedup_vs_retrain").direction == "higher"
    assert metric_info("fairness.a-igf_ndcg@20").direction == "none"
    with pytest.raises(ConfigError):
        metric_info("nonsense")


@pytest.mark.slow
def test_cell_emits_all_aspects_and_exact_is_within_seed_noise() -> None:
    c = cell()
    res = evaluate_cell(c.fs, c.original, c.heldout, c.refs, c.ctx, config=FAST,
                        learn_timing=Timing(2.0, 2.0, 100.0),
                        unlearn_timing=Timing(0.5, 0.5, 90.0),
                        retrain_timing=Timing(1.0, 1.0, 90.0),
                        stream_timings=[Timing(0.1), Timing(0.3)],
                        shard_of_user=c.fs.train.user_tokens.astype(int) % 3)
    m = res.metrics
    for key in m:
        metric_info(key)  # every emitted key is catalogued
    assert {k.split(".")[0] for k in m} == {"utility", "completeness", "efficiency", "fairness"}
    assert m["efficiency.speedup_vs_retrain"] == 2.0
    assert "fairness.shardgf_ndcg@20" in m and "utility.forgotten.ndcg@20" in m
    assert 0.6 < m["completeness.topk_overlap_ratio.neighbours"] < 1.5
    assert abs(m["completeness.mia_auc_gap"]) < 0.15
    assert abs(m["completeness.umia_auc_gap"]) < 0.15 and "completeness.umia_tpr@0.1fpr" in m
    cache: dict = {}
    orig = evaluate_cell(c.fs, c.original, c.original, c.refs, c.ctx, config=FAST,
                         cache=cache).metrics
    assert orig["completeness.mia_auc_gap"] > m["completeness.mia_auc_gap"] + 0.15
    again = evaluate_cell(c.fs, c.original, c.heldout, c.refs, c.ctx, config=FAST,
                          cache=cache).metrics  # shadows and reference stats from the cache
    comp = (lambda d: json.dumps({k: v for k, v in d.items() if k.startswith("completeness.")},
                                 sort_keys=True))  # NaN-safe comparison
    assert comp(again) == comp(m)
    # The headline: a held-out retrain is indistinguishable, the no-op remembers.
    assert m["completeness.calibrated.verdict"] == 0 and m["completeness.calibrated.p"] > 0.05
    assert orig["completeness.calibrated.verdict"] == 1
    assert orig["completeness.calibrated"] > 0.5 > abs(m["completeness.calibrated"])
    assert orig["completeness.calibrated"] == m["completeness.calibrated.original"]
    assert orig["completeness.forgotten_rank_ratio"] > 3 * m["completeness.forgotten_rank_ratio"]
    ref = evaluate_reference(c.fs, c.retrains[0], c.fs.retain, c.ctx, FAST).metrics
    assert "utility.ndcg@20" in ref and "fairness.ugf_ndcg@20" in ref


@pytest.mark.slow
def test_sisa_is_close_to_retrain_on_forgotten_users() -> None:
    c = cell()
    sisa = make_method("sisa", SPEC, {"shards": 2})
    state = sisa.learn(c.fs.train, c.ctx.child("sisa"))
    model = sisa.unlearn(state, c.fs.request, c.ctx.child("sisa-u")).model
    cfg = EvaluatorConfig(bootstrap=0, mia_topk=50, svd_dim=16, mio=False, difficulty=None)
    m = evaluate_cell(c.fs, c.original, model, c.refs, c.ctx, config=cfg).metrics
    assert m["completeness.forgotten_rank_ratio"] < 3.0
    assert abs(m["completeness.mia_auc_gap"]) < 0.2
