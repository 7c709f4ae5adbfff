"""Dose-response validity of the calibrated completeness score on real data (CI-sized).

The full grid (BPR, WMF, LightGCN × core / random / edge, 8 references, 5 held-out seeds)
is `benchmarks/completeness_validity.py`; this runs WMF on every strategy and BPR on the
random one, with 6 references and 2 held-out retrains each.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.models.base import ModelSpec
from cure4rec.testing.validity import check, dose_response

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
CONFIGS = {
    "wmf": {"dim": 32, "epochs": 15, "patience": 3, "reg": 20.0, "alpha": 2.0, "threads": 1},
    "bpr": {"dim": 32, "epochs": 60, "batch_size": 4096, "lr": 0.01, "patience": 3},
}

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


@lru_cache(maxsize=1)
def _split() -> Any:
    if not (DATA / "ml-100k").exists():
        pytest.skip("ml-100k not available")
    ds = load_dataset("ml-100k", data_dir=str(DATA))
    return split_dataset(ds, seed=0, protocol="random", ratios=(0.8, 0.1, 0.1))


@pytest.mark.parametrize("model,strategy", [("wmf", "core"), ("wmf", "random"),
                                            ("wmf", "edge"), ("bpr", "random")])
def test_dose_response(model: str, strategy: str) -> None:
    fs = make_forget_split(_split(), strategy, 0.05, seed=0)
    rows = dose_response(fs, ModelSpec(model, CONFIGS[model]), RunContext(seed=0, threads=1),
                         n_references=6, n_heldout=2)
    ok = check(rows)
    assert ok == {"monotone": True, "heldout_indistinguishable": True,
                  "noop_remembers": True, "over_forget_flagged": True}, [
        (r.kind, r.x, round(r.score.score, 3), r.score.verdict) for r in rows]
    for r in rows:  # never NaN / inf, never "not measured"
        assert all(math.isfinite(v) for v in (r.score.score, r.score.z, r.score.p,
                                               r.score.noise))
    if model == "wmf":
        # ALS gives every never-trained user an all-zero row: with mid-ranks each retrain
        # reads exactly 0.5 per user, so a held-out retrain scores exactly 0 (not 0/0 -> 1).
        held = [r.score for r in rows if r.kind == "heldout"]
        assert all(h.score == 0.0 and h.p == 1.0 for h in held)
