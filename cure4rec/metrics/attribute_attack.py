"""Attribute-inference attacks: can an adversary recover a user attribute?

Protocol: every labelled user (labels < 0 are unknown and left out), *no* down-sampling (AUC
needs no class balance; `balanced=True` restores the MM'23 protocol's downsampling to the
smallest class), stratified `folds`-fold cross-validation by user, repeated `repeats` times
with a fresh shuffle; train and test users are disjoint in every fold. The attacker panel,
fixed hyperparameters, no tuning:

- ``lr``: `LogisticRegression(C=1, max_iter=2000)` on standardised features;
- ``mlp``: `MLPClassifier((100,), alpha=1, max_iter=500, learning_rate_init=0.01)`,
  standardised;
- ``gb``: `HistGradientBoostingClassifier(max_bins=32)` (otherwise scikit-learn's defaults;
  replaces XGBoost; 32 bins ≈ 12 users a bin at 380 training users, 4× cheaper than 255);
- ``svm``: `SVC(kernel="rbf", C=1, gamma="scale")` on standardised features, scored by its
  decision function;
- ``knn``: `KNeighborsClassifier(15)` on standardised features.

Per attacker: AUC (one-vs-rest macro for K > 2: the mean over classes of the binary AUC of
that class's score column), balanced accuracy and macro F1, mean ± std over the folds ×
repeats, and a 95% interval of the mean AUC: mean ± t_{0.975, F−1} · std / √F. Only the F
folds of one repeat test disjoint users, so the R repeats (which re-test the same users) are
not counted as independent samples: the interval is wider than std/√(F·R), on purpose.
`auc_repeat_std` is the std (ddof 1) over the R repeats of each repeat's mean AUC: how much a
fresh fold shuffle alone moves the figure, so a figure is quoted to that precision.
Fits run single-threaded (`threadpool_limits(1)`): on a shared 2-core machine OpenMP
threads made gradient boosting 8× slower, and one thread keeps every fit reproducible.
Chance: AUC 0.5, balanced accuracy 1/K. The headline of a panel is its largest AUC
(`panel_max`, attacker named). Lower is better for every score here.

Features an adversary can hold (docs/fairness.md, threat model):
(a) `cure4rec.fairness.embeddings.user_representation`: the served user representation;
(b) `topk_features`: multi-hot of each user's top-k recommendation list (history excluded),
    and `score_features`: the scores of a probe set of items (the most popular train items);
(c) `difference_features`: served representation after − before unlearning.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError
from cure4rec.metrics.batching import users_per_batch

logger = logging.getLogger(__name__)
ATTACKERS: tuple[str, ...] = ("lr", "mlp", "gb", "svm", "knn")
#: the cheaper subset the evaluator's default uses (the benchmark runs the whole panel)
CHEAP_ATTACKERS: tuple[str, ...] = ("lr", "mlp", "gb")
HIGHER_IS_BETTER: dict[str, bool] = {"auc": False, "balanced_accuracy": False, "f1": False}


@dataclass(frozen=True)
class AttackScore:
    """One attacker's cross-validated scores (mean ± std over folds × repeats), the 95%
    interval of the mean AUC and the chance levels."""

    attacker: str
    auc: float
    auc_std: float
    balanced_accuracy: float
    balanced_accuracy_std: float
    f1: float
    f1_std: float
    n_classes: int
    n_per_class: int
    auc_low: float = float("nan")
    auc_high: float = float("nan")
    n_users: int = 0
    chance_auc: float = 0.5
    #: number of repeats, and the std over repeats of each repeat's mean AUC: how far a
    #: re-shuffle of the folds moves the figure (NaN with one repeat), i.e. the precision a
    #: quoted AUC supports beyond the interval's sampling error
    repeats: int = 1
    auc_repeat_std: float = math.nan

    @property
    def chance_balanced_accuracy(self) -> float:
        return 1.0 / self.n_classes

    def as_dict(self) -> dict[str, float]:
        """Flat metrics keyed like `mlp/auc`."""
        p = self.attacker
        return {f"{p}/auc": self.auc, f"{p}/auc_std": self.auc_std,
                f"{p}/auc_low": self.auc_low, f"{p}/auc_high": self.auc_high,
                f"{p}/balanced_accuracy": self.balanced_accuracy,
                f"{p}/balanced_accuracy_std": self.balanced_accuracy_std,
                f"{p}/f1": self.f1, f"{p}/f1_std": self.f1_std,
                f"{p}/chance_auc": self.chance_auc, f"{p}/auc_repeat_std": self.auc_repeat_std,
                f"{p}/chance_balanced_accuracy": self.chance_balanced_accuracy}


def _make(attacker: str, seed: int) -> ClassifierMixin:
    if attacker == "lr":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    if attacker == "mlp":
        return make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(100,), alpha=1.0, max_iter=500, learning_rate_init=0.01,
            random_state=seed))
    if attacker == "gb":
        return HistGradientBoostingClassifier(max_bins=32, random_state=seed)
    if attacker == "svm":
        return make_pipeline(StandardScaler(), SVC(kernel="rbf", C=1.0, gamma="scale",
                                                   random_state=seed))
    if attacker == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15))
    raise ConfigError(f"unknown attacker {attacker!r}; use one of {', '.join(ATTACKERS)}")


def balance(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices with every class downsampled to the smallest class (labels < 0 out)."""
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    n = int(counts.min()) if len(counts) else 0
    picks = [rng.choice(np.flatnonzero(labels == c), size=n, replace=False) for c in classes]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def _class_scores(clf: Any, x: np.ndarray) -> np.ndarray:
    """`[n, K]` per-class scores: probabilities, or the SVM's decision function."""
    if hasattr(clf, "predict_proba") and not isinstance(clf[-1] if hasattr(clf, "steps")
                                                           else clf, SVC):
        return np.asarray(clf.predict_proba(x))
    d = np.asarray(clf.decision_function(x))
    return np.stack([-d, d], 1) if d.ndim == 1 else d


def _fold_scores(clf: Any, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray,
                 y_te: np.ndarray, k: int) -> tuple[float, float, float]:
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_tr, y_tr)
        sc = _class_scores(clf, x_te)
    classes = np.asarray(clf.classes_)
    pred = classes[sc.argmax(1)]
    if k == 2:
        auc = roc_auc_score(y_te == classes[1], sc[:, 1])
    else:  # one-vs-rest macro: each class's own score column
        auc = np.mean([roc_auc_score(y_te == c, sc[:, i]) for i, c in enumerate(classes)])
    return (float(auc), float(balanced_accuracy_score(y_te, pred)),
            float(f1_score(y_te, pred, average="macro")))


def attribute_attack(embeddings: np.ndarray, labels: np.ndarray, ctx: RunContext,
                     attackers: Sequence[str] = ATTACKERS, folds: int = 5, repeats: int = 3,
                     balanced: bool = False) -> dict[str, AttackScore]:
    """Cross-validated attribute inference from `embeddings[u]` to `labels[u]` (< 0: unknown).

    The same `ctx` gives the same folds for any features of the same labels, so two
    representations of the same users are compared fold by fold.
    """
    x, y = np.asarray(embeddings, dtype=np.float64), np.asarray(labels)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ConfigError(f"{x.shape[0]} feature rows for {y.shape[0]} labels")
    keep = (balance(y, ctx.child("attack-balance").rng()) if balanced
            else np.flatnonzero(y >= 0))
    x, y = x[keep], y[keep]
    classes, counts = np.unique(y, return_counts=True)
    k = len(classes)
    if k < 2 or counts.min() < folds:
        raise ConfigError(f"the attack needs >= 2 classes with >= {folds} users each; got "
                          f"{k} classes, smallest {int(counts.min()) if k else 0}")
    t = float(stats.t.ppf(0.975, folds - 1))
    out = {}
    for name in attackers:
        scores = []
        for r in range(repeats):
            c = ctx.child(f"attack-repeat{r}")
            cv = StratifiedKFold(folds, shuffle=True, random_state=c.derived_seed() % 2**31)
            seed = ctx.child(f"attack-{name}-repeat{r}").child("model").derived_seed() % 2**31
            scores += [_fold_scores(_make(name, seed), x[tr], y[tr], x[te], y[te], k)
                       for tr, te in cv.split(x, y)]
        s = np.asarray(scores)
        auc, auc_std = _mean_std(s[:, 0])
        half = t * auc_std / np.sqrt(folds)
        per_repeat = s[:, 0].reshape(repeats, folds).mean(1)
        rep_std = float(per_repeat.std(ddof=1)) if repeats > 1 else math.nan  # one object: == holds
        out[name] = AttackScore(name, auc, auc_std, *_mean_std(s[:, 1]), *_mean_std(s[:, 2]),
                                n_classes=k, n_per_class=int(counts.min()),
                                auc_low=auc - half, auc_high=auc + half, n_users=len(y),
                                repeats=repeats, auc_repeat_std=rep_std)
        logger.info("attack %s: AUC %.3f [%.3f, %.3f]", name, auc, auc - half, auc + half)
    return out


def panel_max(scores: Mapping[str, AttackScore]) -> AttackScore:
    """The attacker with the largest mean AUC (ties: the first in panel order)."""
    if not scores:
        raise ConfigError("empty attacker panel")
    return max(scores.values(), key=lambda s: s.auc)


def _mean_std(v: np.ndarray) -> tuple[float, float]:
    return float(v.mean()), float(v.std())


# ------------------------------------------------------------------ adversary features
def topk_features(model: object, history: Any, k: int = 20,
                  users: np.ndarray | None = None) -> np.ndarray:
    """Adversary (b), lists: `[n_users, n_cols]` multi-hot of each user's top-`k` list
    (history excluded), one column per item that appears in at least one list."""
    from cure4rec.metrics.ranking import top_k

    n = history.n_users if users is None else len(users)
    users = np.arange(n) if users is None else np.asarray(users)
    top = top_k(model, users, k, history).numpy()
    cols, inv = np.unique(top, return_inverse=True)
    x = np.zeros((len(users), len(cols)), dtype=np.float32)
    np.put_along_axis(x, inv.reshape(top.shape), 1.0, axis=1)
    return x


def score_features(model: Any, train: Any, n_probe: int = 256) -> np.ndarray:
    """Adversary (b), scores: the model's scores of the `n_probe` most popular train items
    (ties: lower index) for every user, `[n_users, n_probe]` float64."""
    deg = np.bincount(train.item, minlength=train.n_items)
    probe = torch.from_numpy(np.argsort(-deg, kind="stable")[:n_probe])
    users, step = np.arange(train.n_users), users_per_batch(1024)
    with torch.no_grad():  # in user batches: never the whole users x items score matrix
        parts = [model.score(users[s:s + step]).detach().cpu()[:, probe].double().numpy()
                 for s in range(0, len(users), step)]
    return np.concatenate(parts) if parts else np.zeros((0, len(probe)))


def difference_features(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Adversary (c): per-user change of the served representation, after − before."""
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    if before.shape != after.shape:
        raise ConfigError(f"representations differ in shape: {before.shape} vs {after.shape}")
    return after - before
