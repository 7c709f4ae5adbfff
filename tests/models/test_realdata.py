"""Every native model reaches a sane test NDCG@20 on ML-100K (5-core, 80/10/10, seed 0).

Thresholds: 0.25 for BPR, WMF and LightGCN (the issue's bar); the pointwise models sit a
little lower at their defaults (measured, seed 0: mf-bce 0.254, gmf 0.249, neumf 0.255), so
their bar is 0.22 — a margin for seeds and platforms, still far above popularity (~0.15).
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


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", ["bpr", "wmf", "lightgcn", "mf-bce", "gmf", "neumf"])
def test_ml100k_ndcg(split, name: str) -> None:  # type: ignore[no-untyped-def]
    model = ModelSpec(name).build()
    fit = model.fit(split.train, split.valid, RunContext(seed=0))
    res = evaluate_ranking(model, split.train, split.test, ks=(20,))
    assert fit.best_epoch <= fit.epochs
    bar = 0.25 if name in ("bpr", "wmf", "lightgcn") else 0.22
    assert res.mean("ndcg@20") >= bar, (name, res.mean("ndcg@20"), fit.best_epoch)
