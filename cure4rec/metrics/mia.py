"""Membership inference against recommenders: a user-level attack and an interaction-level one.

User-level (Zhang et al. CCS'21 style, black-box): item vectors from a seeded truncated SVD of
the train interaction matrix; a user's feature = centroid(the user's items) − centroid(the
model's top-100 recommendations for the user, own items excluded). An MLP attacker is trained
on a *shadow* model of the same architecture fitted on a seeded half of the retained users
(shadow members) — the other half are shadow non-members — and applied to the target models.

Target protocol: positives = the forgotten users' features under the evaluated model;
negatives = the same users' features under an independent retrained model (reference[-1]),
for which they are genuinely never-trained users. The retrained model r0 scored this way
gives the value an exact unlearner should match (≈ 0.5 up to seed noise); completeness is
`auc(model) − auc(r0)`, never `auc − 0.5`.

Interaction-level: members = forgotten (u, i) pairs, non-members = the same users' held-out
(valid + test) pairs, never trained by any model; the statistic is the per-user calibrated
score s(u, i) − mean_j s(u, j). Both report AUC and TPR at FPR ≤ 1% and 0.1% (`roc_stats`);
the attack that sees the original and the unlearned model: `cure4rec.metrics.unlearning_mia`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neural_network import MLPClassifier

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.batching import users_per_batch
from cure4rec.metrics.calibrated import batch_percentiles
from cure4rec.metrics.memo import PassMemo, memo_or_new
from cure4rec.metrics.ranking import top_k

FPRS: dict[str, float] = {"1fpr": 0.01, "0.1fpr": 0.001}


def auc_tpr(labels: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> tuple[float, float]:
    """ROC AUC and the TPR at FPR ≤ `fpr` (NaN when one class is missing)."""
    stats = roc_stats(labels, scores, {"x": fpr})
    return stats["auc"], stats["tpr@x"]


def roc_stats(labels: np.ndarray, scores: np.ndarray, fprs: dict[str, float] | None = None
              ) -> dict[str, float]:
    """``auc`` and ``tpr@<name>`` = TPR at FPR ≤ each level of `fprs` (default 1%, 0.1%).

    With n negatives the smallest non-zero FPR is 1/n: below it the value is the TPR at
    zero false positives (conservative, and noisy for small n).
    """
    fprs = FPRS if fprs is None else fprs
    labels = np.asarray(labels)
    if labels.min(initial=1) == labels.max(initial=0):
        return {"auc": float("nan"), **{f"tpr@{n}": float("nan") for n in fprs}}
    # every threshold: the default drop_intermediate=True removes collinear ROC points, which
    # under tied scores can be the best one at FPR ≤ a (the TPR read too low)
    f, t, _ = roc_curve(labels, scores, drop_intermediate=False)
    return {"auc": float(roc_auc_score(labels, scores)),
            **{f"tpr@{n}": float(t[f <= a].max(initial=0.0)) for n, a in fprs.items()}}


def put_stats(out: dict[str, float], attack: str, model: str, stats: dict[str, float]) -> None:
    """Store `roc_stats` as ``<attack>_auc.<model>``, ``<attack>_tpr@1fpr.<model>``, ..."""
    for name, value in stats.items():
        out[f"{attack}_{name}.{model}"] = value


def item_vectors(train: Interactions, ctx: RunContext, dim: int = 64) -> np.ndarray:
    """Item vectors `[n_items, d]` from a seeded truncated SVD of the user × item matrix."""
    d = max(1, min(dim, train.n_items - 1, train.n_users - 1))
    svd = TruncatedSVD(d, random_state=ctx.derived_seed() % 2**31, algorithm="randomized")
    svd.fit(train.csr())
    return (svd.components_.T * svd.singular_values_).astype(np.float64)


def user_features(model: object, own: Interactions, users: np.ndarray, vecs: np.ndarray,
                  k: int = 100, batch_users: int = 1024) -> np.ndarray:
    """centroid(own items) − centroid(top-k recommendations excluding own items), per user.

    In user batches: the recommendations' vectors (`batch × k × dim`, float64) are never
    gathered for every user at once (Gowalla's shadow half: 14k users × 100 × 64 = 0.7 GB).
    """
    users = np.asarray(users, dtype=np.int64)
    m = own.csr()[users]
    deg = np.maximum(np.diff(m.indptr), 1)[:, None]
    inter = np.asarray(m @ vecs) / deg
    kk = min(k, own.n_items - 1)
    batch_users = users_per_batch(batch_users)
    for start in range(0, len(users), batch_users):
        sl = slice(start, start + batch_users)
        rec = top_k(model, users[sl], kk, history=own, batch_users=batch_users).numpy()
        inter[sl] -= vecs[rec].mean(1)
    return inter


@dataclass(frozen=True)
class UserAttack:
    """A fitted user-level attacker, its shadow model and its held-out strength on the shadow."""

    clf: MLPClassifier
    vecs: np.ndarray
    shadow_auc: float
    k: int
    shadow: Any = None
    shadow_users: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def member_scores(self, model: object, own: Interactions, users: np.ndarray) -> np.ndarray:
        """Attacker membership probability of `users` (whose data is `own`) under `model`."""
        return self.clf.predict_proba(user_features(model, own, users, self.vecs, self.k))[:, 1]


def _fit_quiet(clf: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """Fit an sklearn classifier; an unconverged MLP is still a valid (weaker) attacker."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(x, y)


#: how a shadow is fitted: (template, data, valid, ctx, epochs) -> fitted model; `fit_shadow`,
#: or the runner's version that goes through its content-hash model cache
ShadowFit = Callable[[object, Interactions, "Interactions | None", RunContext, "int | None"],
                     object]


def fit_shadow(template: object, data: Interactions, valid: Interactions | None,
               ctx: RunContext, epochs: int | None = None) -> object:
    """A fresh model like `template` fitted on `data`.

    With `valid` (restricted to `data`'s users) it early-stops like the target models;
    `epochs` overrides the budget (faster, documented in the caller's record).
    """
    shadow = template.clone()  # type: ignore[attr-defined]
    if valid is not None:
        valid = valid.subset(valid.users_mask(data.active_users()))
        valid = valid if len(valid) else None
    try:
        if epochs:
            shadow.fit(data, valid, ctx, epochs=epochs)
        else:
            shadow.fit(data, valid, ctx)
    except TypeError:  # a Recommender without the native `epochs=` keyword
        shadow.fit(data, valid, ctx)
    return shadow


def train_user_attack(template: object, retain: Interactions, vec_train: Interactions,
                      ctx: RunContext, k: int = 100, svd_dim: int = 64,
                      shadow_epochs: int | None = None, valid: Interactions | None = None,
                      fit: ShadowFit = fit_shadow) -> UserAttack:
    """Fit a shadow model on half the retained users and train the MLP attacker on it.

    `fit` fits the shadow (default `fit_shadow`; the same model from the runner's cache).
    """
    users = retain.active_users()
    if len(users) < 8:
        raise ConfigError(f"the MIA shadow split needs ≥8 retained users, got {len(users)}")
    rng = ctx.child("mia-shadow-split").rng()
    perm = rng.permutation(users)
    members, non = np.sort(perm[: len(perm) // 2]), np.sort(perm[len(perm) // 2:])
    shadow = fit(template, retain.subset(retain.users_mask(members)), valid,
                 ctx.child("mia-shadow-model"), shadow_epochs)
    vecs = item_vectors(vec_train, ctx.child("mia-svd"), svd_dim)
    x = np.vstack([user_features(shadow, retain, members, vecs, k),
                   user_features(shadow, retain, non, vecs, k)])
    y = np.r_[np.ones(len(members)), np.zeros(len(non))]
    hold = ctx.child("mia-holdout").rng().random(len(y)) < 0.25
    seed = ctx.child("mia-mlp").derived_seed() % 2**31
    clf = _fit_quiet(MLPClassifier((32, 8), max_iter=500, random_state=seed), x[~hold], y[~hold])
    shadow_auc = auc_tpr(y[hold], clf.predict_proba(x[hold])[:, 1])[0]
    clf = _fit_quiet(MLPClassifier((32, 8), max_iter=500, random_state=seed), x, y)
    return UserAttack(clf, vecs, shadow_auc, k, shadow, members)


def user_mia(attack: UserAttack, models: dict[str, object], negative_model: object,
             forget: Interactions, users: np.ndarray, memo: PassMemo | None = None
             ) -> dict[str, float]:
    """AUC / TPR@1%, 0.1% FPR of forgotten users under each model vs under `negative_model`."""
    memo = memo_or_new(memo)

    def scores(m: object) -> np.ndarray:
        return memo.get(("user-mia", id(attack)), m,
                        lambda: attack.member_scores(m, forget, users))

    neg = scores(negative_model)
    out: dict[str, float] = {}
    for name, m in models.items():
        pos = scores(m)
        put_stats(out, "mia", name, roc_stats(np.r_[np.ones(len(pos)), np.zeros(len(neg))],
                                              np.r_[pos, neg]))
    return out


def calibrated_pair_scores(model: object, pairs: Interactions, batch_users: int = 512
                           ) -> np.ndarray:
    """s(u, i) − mean_j s(u, j) of each pair (in pair order)."""
    out = np.zeros(len(pairs))
    users = np.unique(pairs.user)
    batch_users = users_per_batch(batch_users)
    for start in range(0, len(users), batch_users):
        b = users[start:start + batch_users]
        s = model.score(b).detach().to("cpu", torch.float64)  # type: ignore[attr-defined]
        s = s - s.mean(1, keepdim=True)
        rows = np.flatnonzero(np.isin(pairs.user, b))
        local = torch.from_numpy(np.searchsorted(b, pairs.user[rows]))
        out[rows] = s[local, torch.from_numpy(pairs.item[rows])].numpy()
    return out


def nonmember_pairs(forget: Interactions, holdout: Interactions, train: Interactions,
                    rng: np.random.Generator) -> Interactions:
    """Held-out pairs of the forgotten users; random never-interacted items if there are none."""
    if len(holdout):
        return holdout.subset(holdout.users_mask(np.unique(forget.user)))
    item = rng.integers(0, train.n_items, len(forget))
    cand = forget.with_arrays(forget.user, item)
    return cand.subset(~cand.isin(train))


def interaction_mia(models: dict[str, object], forget: Interactions, nonmembers: Interactions,
                    memo: PassMemo | None = None) -> dict[str, float]:
    """Score-based attack: forgotten pairs vs non-member pairs, per-user calibrated."""
    memo = memo_or_new(memo)

    def scores(m: object) -> np.ndarray:
        return memo.get("interaction-mia", m, lambda: np.r_[
            calibrated_pair_scores(m, forget), calibrated_pair_scores(m, nonmembers)])

    y = np.r_[np.ones(len(forget)), np.zeros(len(nonmembers))]
    out: dict[str, float] = {}
    for name, m in models.items():
        s = scores(m)
        put_stats(out, "interaction_mia", name, roc_stats(y, s))
    return out


def run_mia(original: object, unlearned: object, references: Sequence[object],
            train: Interactions, retain: Interactions, forget: Interactions,
            holdout: Interactions, ctx: RunContext, k: int = 100, svd_dim: int = 64,
            shadow_epochs: int | None = None, user_level: bool = True, *,
            valid: Interactions | None = None, attack: UserAttack | None = None,
            memo: PassMemo | None = None) -> dict[str, float]:
    """Both attacks on original / unlearned / retrain (r0); plus gaps to the retrain value.

    `attack` reuses a fitted `train_user_attack` (same split and context: identical result);
    `memo` (`cure4rec.metrics.memo`) the per-model scores of the models it keeps.
    """
    models = {"original": original, "unlearned": unlearned, "retrain": references[0]}
    users = np.unique(forget.user)
    out = interaction_mia(models, forget, nonmember_pairs(forget, holdout, train,
                                                          ctx.child("mia-pairs").rng()), memo)
    out["interaction_mia_auc_gap"] = (out["interaction_mia_auc.unlearned"]
                                      - out["interaction_mia_auc.retrain"])
    if user_level:
        attack = attack or train_user_attack(references[0], retain, train, ctx, k, svd_dim,
                                             shadow_epochs, valid)
        out.update(user_mia(attack, models, references[-1], forget, users, memo))
        out["mia_shadow_auc"] = attack.shadow_auc
        out["mia_auc_gap"] = out["mia_auc.unlearned"] - out["mia_auc.retrain"]
    return out


# ---------------------------------------------------------------------- MIO (reconstructed)
MIO_FEATURES = ("pct_mean", "pct_median", "pct_q25", "pct_min", "z_mean", "z_q75")


def pair_z(model: object, pairs: Interactions, users: np.ndarray) -> np.ndarray:
    """Per-user z-score of each pair's score, (s(u,i) − mean_j s(u,j)) / sd_j s(u,j)."""
    sd = np.sqrt(_user_score_var(model, users))
    return calibrated_pair_scores(model, pairs) / np.maximum(
        sd[np.searchsorted(users, pairs.user)], 1e-12)


def pair_stats(model: object, pairs: Interactions, users: np.ndarray, batch_users: int = 512
               ) -> tuple[np.ndarray, np.ndarray]:
    """(`pair_percentiles`, `pair_z`) of `pairs` from one scoring pass per user batch.

    `users` must be the pairs' users (sorted, unique), as in every caller: then the batches
    are those of the two separate passes and the values are theirs bit for bit (tested);
    otherwise the two passes are run.
    """
    users = np.asarray(users, dtype=np.int64)
    if not np.array_equal(np.unique(pairs.user), users):
        from cure4rec.metrics.completeness import pair_percentiles

        return pair_percentiles(model, pairs, batch_users), pair_z(model, pairs, users)
    pct, cps = np.zeros(len(pairs)), np.zeros(len(pairs))
    var = np.zeros(len(users))
    batch_users = users_per_batch(batch_users)
    for start in range(0, len(users), batch_users):
        b = users[start:start + batch_users]
        s = model.score(b).detach().to("cpu", torch.float64)  # type: ignore[attr-defined]
        rows = np.flatnonzero(np.isin(pairs.user, b))
        local = torch.from_numpy(np.searchsorted(b, pairs.user[rows]))
        items = torch.from_numpy(pairs.item[rows].astype(np.int64))
        pct[rows] = batch_percentiles(s, local, items, None, b)
        var[start:start + len(b)] = s.var(1).numpy()
        cps[rows] = (s - s.mean(1, keepdim=True))[local, items].numpy()
    sd = np.sqrt(var)
    return pct, cps / np.maximum(sd[np.searchsorted(users, pairs.user)], 1e-12)


def set_features(model: object, pairs: Interactions, users: np.ndarray) -> np.ndarray:
    """Size-free statistics of the percentiles and z-scores of each user's item set."""
    import pandas as pd

    pct, z = pair_stats(model, pairs, users)
    g = pd.DataFrame({"u": pairs.user, "p": pct, "z": z}).groupby("u")
    f = pd.concat([g.p.mean(), g.p.median(), g.p.quantile(0.25), g.p.min(), g.z.mean(),
                   g.z.quantile(0.75)], axis=1)
    return f.reindex(users).to_numpy(dtype=np.float64)


def _user_score_var(model: object, users: np.ndarray, batch_users: int = 512) -> np.ndarray:
    batch_users = users_per_batch(batch_users)
    parts = [model.score(users[s:s + batch_users]).detach().to("cpu", torch.float64)  # type: ignore[attr-defined]
             .var(1).numpy() for s in range(0, len(users), batch_users)]
    return np.concatenate(parts) if parts else np.zeros(0)


def mio(models: dict[str, object], forget: Interactions, holdout: Interactions,
        ctx: RunContext, folds: int = 5, train_on: str = "original") -> dict[str, float]:
    """MIO (reconstructed): a privileged oracle trained on the original model's outputs.

    Units are forgotten users: a member example is the user's forgotten (trained) item set,
    a non-member example the same user's held-out item set (never trained) — balanced by
    construction. An MLP (100 hidden units, as the CURE4Rec group's attackers) on size-free
    score/rank features is trained on `models[train_on]`, `folds`-fold cross-validated by
    user; each model's out-of-fold AUC and accuracy are reported.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    users = np.intersect1d(np.unique(forget.user), np.unique(holdout.user))
    if len(users) < 2 * folds:
        return {}
    mem = forget.subset(forget.users_mask(users))
    non = holdout.subset(holdout.users_mask(users))
    feats = {n: (set_features(m, mem, users), set_features(m, non, users))
             for n, m in models.items()}
    fold = ctx.child("mio-folds").rng().permutation(len(users)) % folds
    seed = ctx.child("mio-mlp").derived_seed() % 2**31
    prob = {n: np.zeros((2, len(users))) for n in models}
    for f in range(folds):
        tr, te = fold != f, fold == f
        xm, xn = feats[train_on]
        clf = make_pipeline(StandardScaler(), MLPClassifier((100,), alpha=1.0, max_iter=500,
                                                            random_state=seed))
        _fit_quiet(clf, np.vstack([xm[tr], xn[tr]]), np.r_[np.ones(tr.sum()), np.zeros(tr.sum())])
        for n, (ym, yn) in feats.items():
            prob[n][0, te] = clf.predict_proba(ym[te])[:, 1]
            prob[n][1, te] = clf.predict_proba(yn[te])[:, 1]
    y = np.r_[np.ones(len(users)), np.zeros(len(users))]
    out: dict[str, float] = {}
    for n, pr in prob.items():
        s = np.r_[pr[0], pr[1]]
        out[f"mio_auc.{n}"] = auc_tpr(y, s)[0]
        out[f"mio_acc.{n}"] = float(((s > 0.5) == y).mean())
    return out
