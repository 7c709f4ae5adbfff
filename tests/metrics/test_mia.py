"""Membership inference: known AUC values and attack sanity on a tiny BPR cell."""

from __future__ import annotations

import numpy as np
import pytest

from cure4rec.metrics.mia import (
    auc_tpr,
    interaction_mia,
    mio,
    nonmember_pairs,
    roc_stats,
    run_mia,
    train_user_attack,
)
from cure4rec.metrics.unlearning_mia import (
    pair_features,
    train_unlearning_attack,
    unlearning_mia,
)
from tests.metrics._cells import cell


def test_auc_tpr_known_values() -> None:
    y = np.r_[np.ones(100), np.zeros(100)]
    auc, tpr = auc_tpr(y, np.r_[np.arange(100) + 100.0, np.arange(100)])
    assert auc == 1.0 and tpr == 1.0
    auc, _ = auc_tpr(y, np.zeros(200))
    assert auc == 0.5
    assert np.isnan(auc_tpr(np.ones(3), np.arange(3.0))[0])


def test_tpr_at_low_fpr_known_values() -> None:
    # 2000 negatives at 0..1999, positives: 10 above every negative, 990 just below the top 2
    y = np.r_[np.ones(1000), np.zeros(2000)]
    s = np.r_[np.full(10, 5000.0), np.full(990, 1997.5), np.arange(2000.0)]
    st = roc_stats(y, s)
    assert st["tpr@0.1fpr"] == pytest.approx(1.0)  # FPR = 2/2000 = 0.1% admits the 1997.5s
    s[10:1000] = 1990.5  # now 9 negatives above them: FPR 0.45% > 0.1%, ≤ 1%
    st = roc_stats(y, s)
    assert st["tpr@0.1fpr"] == pytest.approx(0.01) and st["tpr@1fpr"] == pytest.approx(1.0)


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
def test_unlearning_mia_matches_retrain_for_exact_and_flags_no_unlearning() -> None:
    c = cell()
    fs, r = c.fs, c.retrains
    user = train_user_attack(r[0], fs.retain, fs.train, c.ctx.child("mia"), 50, 16, None,
                             fs.valid)
    attack = train_unlearning_attack(user.shadow, user.shadow_users, fs.retain, fs.test,
                                     fs.valid, c.ctx, len(fs.request.users))
    assert attack is not None and attack.shadow_auc > 0.7, attack
    hold = fs.holdout_test.concat(fs.holdout_valid)
    afters = {"unlearned": r[2], "retrain": r[0], "none": c.original}
    out = unlearning_mia(attack, c.original, afters, fs.forget, hold)
    assert out["umia_auc.retrain"] > 0.7, out  # exact retraining still leaks via the change
    assert abs(out["umia_auc_gap"]) < 0.1, out  # another retrain seed: at the retrain value
    assert out["umia_auc.none"] == 0.5, out  # no-op: nothing changed, the attack is at chance


def test_unlearning_mia_features_are_changes_only() -> None:
    c = cell()
    fs, users = c.fs, np.unique(c.fs.forget.user)
    assert not pair_features(c.original, c.original, fs.forget, users).any()
    x = pair_features(c.original, c.retrains[0], fs.forget, users)
    assert x.shape == (len(users), 2) and (x[:, 0] > 0).mean() > 0.8  # deleted items drop


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
