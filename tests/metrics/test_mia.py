"""Membership inference: known AUC values and attack sanity on a tiny BPR cell."""

from __future__ import annotations

import numpy as np
import pytest

from cure4rec.metrics.mia import auc_tpr, interaction_mia, mio, nonmember_pairs, run_mia
from tests.metrics._cells import cell


def test_auc_tpr_known_values() -> None:
    y = np.r_[np.ones(100), np.zeros(100)]
    auc, tpr = auc_tpr(y, np.r_[np.arange(100) + 100.0, np.arange(100)])
    assert auc == 1.0 and tpr == 1.0
    auc, _ = auc_tpr(y, np.zeros(200))
    assert auc == 0.5
    assert np.isnan(auc_tpr(np.ones(3), np.arange(3.0))[0])


@pytest.mark.slow
def test_attacks_separate_original_from_retrain() -> None:
    c = cell()
    fs, r = c.fs, c.retrains
    out = run_mia(c.original, r[2], r[:2], fs.train, fs.retain, fs.forget, fs.holdout_test,
                  c.ctx.child("mia"), k=50, svd_dim=16)
    assert out["mia_auc.original"] > 0.7, out
    assert out["mia_auc.retrain"] < out["mia_auc.original"] - 0.15
    assert abs(out["mia_auc_gap"]) < 0.15  # an exact unlearner (another retrain seed)
    assert out["interaction_mia_auc.original"] > out["interaction_mia_auc.retrain"] + 0.05
    assert out["mia_shadow_auc"] > 0.55


@pytest.mark.slow
def test_mio_reconstruction_orders_models() -> None:
    c = cell()
    models = {"original": c.original, "retrain": c.retrains[0]}
    out = mio(models, c.fs.forget, c.fs.holdout_test, c.ctx.child("mio"), folds=3)
    assert out["mio_auc.original"] > 0.7, out
    assert out["mio_auc.original"] > out["mio_auc.retrain"] + 0.1


def test_nonmember_pairs_fall_back_to_unseen_items() -> None:
    c = cell()
    empty = c.fs.holdout_test.subset(np.zeros(len(c.fs.holdout_test), dtype=bool))
    pairs = nonmember_pairs(c.fs.forget, empty, c.fs.train, np.random.default_rng(0))
    assert len(pairs) and not pairs.isin(c.fs.train).any()
    out = interaction_mia({"m": c.original}, c.fs.forget, pairs)
    assert out["interaction_mia_auc.m"] > 0.8
