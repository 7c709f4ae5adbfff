"""Leaderboard sections, labels and statistics on hand-built records (no fixtures)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cure4rec.leaderboard.build import aspect_of, build_leaderboard
from cure4rec.runner.records import make_record


def _rec(seed: int = 0, *, method: str = "sisa", mconf: dict | None = None,
         model: dict | None = None, forget: dict | None = None, params: dict | None = None,
         version: Any = "1", metrics: dict | None = None, kind: str = "method") -> dict:
    cell = {"kind": kind, "dataset": {"name": "syn", "params": params or {}},
            "split": {"protocol": None, "ratios": None, "seed": 0},
            "forget": forget or {"strategy": "random", "fraction": 0.05, "seed": 0},
            "model": model or {"name": "bpr", "config": {"dim": 8}},
            "method": {"name": method, "config": mconf or {}}, "seed": seed,
            "evaluator": {}, "references": {}, "fairness": {}, "stream": None}
    ds = {"name": "syn", "sha256": "0"} if version is None else {
        "name": "syn", "version": version, "sha256": "0"}
    return make_record(cell, dataset=ds, split={"id": "s", "sha256": "1"},
                       metrics=metrics or {"utility.ndcg@20": 0.1 * (seed + 1)})


def _titles(recs: list[dict]) -> list[str]:
    return [s.title for s in build_leaderboard(recs).sections]


def test_sample_std_over_three_seeds() -> None:
    recs = [_rec(s, metrics={"utility.ndcg@20": v}) for s, v in enumerate((0.1, 0.2, 0.6))]
    st = build_leaderboard(recs).sections[0].rows[0].values["utility.ndcg@20"]
    assert st.n == 3 and st.mean == pytest.approx(0.3)
    assert st.std == pytest.approx(math.sqrt((0.04 + 0.01 + 0.09) / 2), abs=1e-6)
    missing = [_rec(0), _rec(1), _rec(2, method="retrain")]
    row = next(r for r in build_leaderboard(missing).sections[0].rows if r.method == "retrain")
    assert row.values["utility.ndcg@20"].mean is None and row.values["utility.ndcg@20"].n == 0


def test_sections_split_by_forget_setting_params_and_version() -> None:
    base = _rec()
    assert _titles([base]) == [f"syn v1 · random 5% · settings {_titles([base])[0][-8:]}"]
    variants = {
        "fraction": _rec(forget={"strategy": "random", "fraction": 0.1, "seed": 0}),
        "all": _rec(forget={"strategy": "random", "fraction": None, "seed": 0}),
        "forget seed": _rec(forget={"strategy": "random", "fraction": 0.05, "seed": 1}),
        "options": _rec(forget={"strategy": "random", "fraction": 0.05, "seed": 0,
                                "options": {"b": 2, "a": 1}}),
        "params": _rec(params={"n_users": 10}),
        "version": _rec(version="2"),
    }
    for name, rec in variants.items():
        assert len(build_leaderboard([base, rec]).sections) == 2, name
    titles = {n: _titles([r])[0] for n, r in variants.items()}
    assert titles["fraction"].startswith("syn v1 · random 10% · settings ")
    assert titles["all"].startswith("syn v1 · random all · settings ")
    assert titles["options"].startswith("syn v1 · random (a=1, b=2) 5% · settings ")
    assert titles["version"].startswith("syn v2 · random 5% ")
    assert _titles([_rec(version=None)])[0].startswith("syn v · random 5% ")
    key = build_leaderboard([variants["all"]]).sections[0].key
    assert key.startswith("syn|1|random|all|")
    assert build_leaderboard([base]).sections[0].key.startswith("syn|1|random|0.050000|")
    assert build_leaderboard([_rec(version=None)]).sections[0].key.startswith("syn||random|")
    # an empty options mapping is no option at all: same section as the base
    empty = _rec(forget={"strategy": "random", "fraction": 0.05, "seed": 0, "options": {}})
    assert len(build_leaderboard([base, empty]).sections) == 1


def test_labels_show_only_varying_config_keys() -> None:
    recs = [_rec(0, mconf={"shards": 2, "lr": 0.1}), _rec(0, mconf={"shards": 4, "lr": 0.1}),
            _rec(0, method="retrain"), _rec(0, method="scif", mconf={"k": 1}),
            _rec(0, method="scif")]
    labels = sorted(r.method for r in build_leaderboard(recs).sections[0].rows)
    # shards varies, lr does not; scif's k is set on one of its two rows only
    assert labels == ["retrain", "scif", "scif(k=1)", "sisa(shards=2)", "sisa(shards=4)"]
    models = [_rec(0, model={"name": "bpr", "config": {"dim": 8, "lr": 1}}),
              _rec(0, model={"name": "bpr", "config": {"dim": 16, "lr": 1}})]
    assert sorted(r.model for r in build_leaderboard(models).sections[0].rows) == [
        "bpr(dim=16)", "bpr(dim=8)"]
    nocfg = _rec(0)
    del nocfg["cell"]["method"]["config"]
    assert build_leaderboard([nocfg]).sections[0].rows[0].method == "sisa"


def test_metric_order_and_aspects() -> None:
    rec = _rec(metrics={"zeta.x": 1.0, "fairness.ugf_ndcg@20": 0.1, "utility.ndcg@20": 0.2,
                        "completeness.mia_auc_gap": 0.0, "efficiency.unlearn_wall_s": 1.0})
    sec = build_leaderboard([rec]).sections[0]
    assert sec.metrics == ("completeness.mia_auc_gap", "utility.ndcg@20",
                           "efficiency.unlearn_wall_s", "fairness.ugf_ndcg@20", "zeta.x")
    assert aspect_of("completeness.js.forgotten") == "completeness"
    assert sec.directions["zeta.x"] == "none"
