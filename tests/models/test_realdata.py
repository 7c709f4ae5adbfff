"""Every native model reaches its measured test NDCG@20 on ML-100K (5-core, 80/10/10, seed 0).

Each model is pinned to the value measured on CPU at its defaults (2026-12-02, torch 2.13,
2 threads), within ±0.01: wide enough for thread counts and platforms (same-seed reruns on
CPU are bit-identical), narrow enough to catch a real change in training or evaluation. A
floor alone (the old test's NDCG ≥ 0.22–0.25) let a 0.04 drop in WMF or LightGCN pass, and
passes a leak that inflates the score; this fails both ways. Popularity reads ~0.15.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cure4rec.context import RunContext
from cure4rec.metrics.ranking import evaluate_ranking
from cure4rec.models.base import ModelSpec

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
if not DATA.exists():
    DATA = Path("/work/shared/datasets")


@pytest.fixture(scope="module")
def split():  # type: ignore[no-untyped-def]
    if not (DATA / "ml-100k").exists():
        pytest.skip("ml-100k not available")
    from cure4rec.data.load import load_dataset, split_dataset

    return split_dataset(load_dataset("ml-100k", data_dir=DATA), seed=0)


MEASURED = {"bpr": 0.2654, "wmf": 0.2992, "lightgcn": 0.2807, "mf-bce": 0.2536,
            "gmf": 0.2488, "neumf": 0.2550}
TOL = 0.01


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", list(MEASURED))
def test_ml100k_ndcg(split, name: str) -> None:  # type: ignore[no-untyped-def]
    model = ModelSpec(name).build()
    fit = model.fit(split.train, split.valid, RunContext(seed=0))
    res = evaluate_ranking(model, split.train, split.test, ks=(20,))
    assert fit.best_epoch <= fit.epochs
    got = res.mean("ndcg@20")
    assert abs(got - MEASURED[name]) <= TOL, (
        f"{name}: test NDCG@20 {got:.4f}, measured {MEASURED[name]:.4f} ± {TOL} "
        f"(best epoch {fit.best_epoch}); if training changed on purpose, re-measure and "
        "update MEASURED with the figure and the date")
