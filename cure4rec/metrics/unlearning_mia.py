"""Unlearning membership inference: an attacker that sees the model before *and* after unlearning.

After Chen et al., "When Machine Unlearning Jeopardizes Privacy" (CCS'21): the adversary
holds the original model θ_o and the unlearned model θ_u and asks of an item set "was this
deleted from training, or never trained at all?". Here (a small, documented adaptation to
user deletion):

- unit = a deleted user; member example = the user's deleted (trained) item set, non-member
  example = the same user's held-out item set (never trained) — balanced and paired;
- features of an item set under (θ_o, θ_x): *change only* — the mean per-item percentile
  drop pct_o − pct_x and the mean per-user z-score drop z_o − z_x. No level of either model
  (pct_o, pct_x) enters: with pct_o the attack was a plain MIA on θ_o whatever θ_x was
  (AUC ≈ 0.99 on ML-100K for the original, retrain and every method alike), and pct_x alone
  reads θ_o again when θ_x barely moves. Chen et al.'s signal is the change between the
  models; with θ_x = θ_o every feature is 0 and the AUC is exactly 0.5. Two statistics, not
  the quantile set of round 2: the shape features (median, 75th percentile) carried
  shadow-specific weights of opposite signs that did not transfer to core users (ML-100K
  core 5%: retrain pair 0.58 with them, 0.97 without);
- shadow pair: θ_o^s = the user-level MIA's shadow model (half of the retained users),
  θ_u^s = the same architecture *retrained* without a seeded subset F_s of those users;
  F_s's deleted vs held-out item sets train a standardised logistic regression (few
  examples: a linear attacker is the stable choice); 25% of F_s is held out for
  ``umia_shadow_auc``.

Even exact retraining leaks here (the deleted items drop, the never-trained ones do not), so
the value to match is the attack on (θ_o, retrain r0), not 0.5. A method that barely changes
the model (a no-op: exactly 0.5) is off-target in the other direction. Attack scores are
rounded to 12 decimals before the AUC: identical feature rows otherwise differ in the last
bits of the BLAS product and a no-op would read a spurious 0.48 or 0.52.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.memo import PassMemo, memo_or_new
from cure4rec.metrics.mia import ShadowFit, fit_shadow, pair_stats, put_stats, roc_stats

FEATURES = ("dpct_mean", "dz_mean")


def pair_features(before: object, after: object, pairs: Interactions, users: np.ndarray,
                  memo: PassMemo | None = None, tag: str = "pairs") -> np.ndarray:
    """`[len(users), 2]` FEATURES (mean drops) of each user's item set in `pairs`.

    Each model's (percentiles, z-scores) come from one pass (`pair_stats`), memoised under
    `tag` (the name of `pairs`) in `memo`.
    """
    memo = memo_or_new(memo)

    def stats(m: object) -> tuple[np.ndarray, np.ndarray]:
        return memo.get(("umia", tag), m, lambda: pair_stats(m, pairs, users))

    (pb, zb), (pa, za) = stats(before), stats(after)
    f = pd.DataFrame({"d": pb - pa, "z": zb - za}).groupby(pairs.user).mean()
    return f.reindex(users).to_numpy(dtype=np.float64)


def _scores(clf: Any, x: np.ndarray) -> np.ndarray:
    """Membership scores; rounded so that identical rows tie exactly (BLAS last-bit noise)."""
    return np.round(clf.predict_proba(x)[:, 1], 12)


def _examples(before: object, after: object, deleted: Interactions, heldout: Interactions,
              users: np.ndarray, memo: PassMemo | None = None) -> tuple[np.ndarray, np.ndarray]:
    memo = memo_or_new(memo)
    mem = deleted.subset(deleted.users_mask(users))
    non = heldout.subset(heldout.users_mask(users))
    x = np.vstack([pair_features(before, after, mem, users, memo, "deleted"),
                   pair_features(before, after, non, users, memo, "heldout")])
    return x, np.r_[np.ones(len(users)), np.zeros(len(users))]


@dataclass(frozen=True)
class UnlearningAttack:
    """A fitted (θ_o, θ_u) attacker and its held-out AUC on the shadow pair."""

    clf: Any
    shadow_auc: float
    n_shadow_deleted: int


def train_unlearning_attack(shadow: object, shadow_users: np.ndarray, retain: Interactions,
                            heldout: Interactions, valid: Interactions | None,
                            ctx: RunContext, n_deleted: int, epochs: int | None = None,
                            fit: ShadowFit = fit_shadow) -> UnlearningAttack | None:
    """Retrain the shadow without a seeded user subset and fit the attacker on the pair.

    `heldout` holds the shadow users' never-trained rows; None if < 8 of them have any.
    `fit` fits the shadow retrain (default `fit_shadow`).
    """
    cand = np.intersect1d(shadow_users, np.unique(heldout.user))
    n = min(len(cand) // 2, max(n_deleted, 50))
    if n < 8:
        return None
    gone = np.sort(ctx.child("umia-shadow-delete").rng().choice(cand, n, replace=False))
    shadow_train = retain.subset(retain.users_mask(shadow_users))
    after = fit(shadow, shadow_train.subset(~shadow_train.users_mask(gone)), valid,
                ctx.child("umia-shadow-retrain"), epochs)
    x, y = _examples(shadow, after, shadow_train, heldout, gone)
    hold = np.tile(ctx.child("umia-holdout").rng().random(n) < 0.25, 2)  # both sides of a user
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    auc = roc_stats(y[hold], _scores(clf.fit(x[~hold], y[~hold]), x[hold]))["auc"]
    return UnlearningAttack(clf.fit(x, y), auc, n)


def unlearning_mia(attack: UnlearningAttack, original: object, afters: dict[str, object],
                   forget: Interactions, holdout: Interactions, memo: PassMemo | None = None
                   ) -> dict[str, float]:
    """``umia_*`` AUC / TPR of deleted vs held-out item sets under (original, each model)."""
    memo = memo_or_new(memo)
    users = np.intersect1d(np.unique(forget.user), np.unique(holdout.user))
    out: dict[str, float] = {"umia_shadow_auc": attack.shadow_auc}
    if len(users) < 2:
        return out
    for name, after in afters.items():
        x, y = _examples(original, after, forget, holdout, users, memo)
        put_stats(out, "umia", name, roc_stats(y, _scores(attack.clf, x)))
    if "unlearned" in afters and "retrain" in afters:
        out["umia_auc_gap"] = out["umia_auc.unlearned"] - out["umia_auc.retrain"]
    return out
