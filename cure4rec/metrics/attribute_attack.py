"""Attribute-inference attack on user embeddings: can an attacker recover the attribute?

Protocol (MM'23 PoT-AU, with xgboost replaced by scikit-learn's histogram gradient boosting):
classes are balanced by seeded downsampling to the smallest class, then stratified 5-fold
cross-validation repeated 3 times (a new shuffle each repeat) for each attacker:
- ``mlp``: `MLPClassifier(hidden_layer_sizes=(100,), alpha=1, max_iter=500,
  learning_rate_init=0.01)` on standardised features;
- ``gb``: `HistGradientBoostingClassifier()`.
Reported per attacker: AUC (one-vs-rest macro for K > 2), balanced accuracy and macro F1,
mean ± std over the 15 folds, next to the chance level (AUC 0.5, balanced accuracy 1/K).
The goal of attribute unlearning is chance level; all three are "lower is better" here.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cure4rec.context import RunContext
from cure4rec.errors import ConfigError

logger = logging.getLogger(__name__)
ATTACKERS: tuple[str, ...] = ("mlp", "gb")
HIGHER_IS_BETTER: dict[str, bool] = {"auc": False, "balanced_accuracy": False, "f1": False}


@dataclass(frozen=True)
class AttackScore:
    """One attacker's cross-validated scores (mean ± std over folds) and the chance levels."""

    attacker: str
    auc: float
    auc_std: float
    balanced_accuracy: float
    balanced_accuracy_std: float
    f1: float
    f1_std: float
    n_classes: int
    n_per_class: int
    chance_auc: float = 0.5

    @property
    def chance_balanced_accuracy(self) -> float:
        return 1.0 / self.n_classes

    def as_dict(self) -> dict[str, float]:
        """Flat metrics keyed like `mlp/auc`."""
        p = self.attacker
        return {f"{p}/auc": self.auc, f"{p}/auc_std": self.auc_std,
                f"{p}/balanced_accuracy": self.balanced_accuracy,
                f"{p}/balanced_accuracy_std": self.balanced_accuracy_std,
                f"{p}/f1": self.f1, f"{p}/f1_std": self.f1_std,
                f"{p}/chance_auc": self.chance_auc,
                f"{p}/chance_balanced_accuracy": self.chance_balanced_accuracy}


def _make(attacker: str, seed: int) -> ClassifierMixin:
    if attacker == "mlp":
        return make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(100,), alpha=1.0, max_iter=500, learning_rate_init=0.01,
            random_state=seed))
    if attacker == "gb":
        return HistGradientBoostingClassifier(random_state=seed)
    raise ConfigError(f"unknown attacker {attacker!r}; use one of {', '.join(ATTACKERS)}")


def balance(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices with every class downsampled to the smallest class (labels < 0 out)."""
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    n = int(counts.min()) if len(counts) else 0
    picks = [rng.choice(np.flatnonzero(labels == c), size=n, replace=False) for c in classes]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def _fold_scores(clf: ClassifierMixin, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray,
                 y_te: np.ndarray, k: int) -> tuple[float, float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_tr, y_tr)
    proba = clf.predict_proba(x_te)
    pred = clf.classes_[proba.argmax(1)]
    auc = (roc_auc_score(y_te, proba[:, 1]) if k == 2 else
           roc_auc_score(y_te, proba, multi_class="ovr", average="macro", labels=clf.classes_))
    return (float(auc), float(balanced_accuracy_score(y_te, pred)),
            float(f1_score(y_te, pred, average="macro")))


def attribute_attack(embeddings: np.ndarray, labels: np.ndarray, ctx: RunContext,
                     attackers: Sequence[str] = ATTACKERS, folds: int = 5, repeats: int = 3
                     ) -> dict[str, AttackScore]:
    """Cross-validated attribute inference from `embeddings[u]` to `labels[u]` (< 0: unknown)."""
    x, y = np.asarray(embeddings, dtype=np.float64), np.asarray(labels)
    if x.shape[0] != y.shape[0]:
        raise ConfigError(f"{x.shape[0]} embeddings for {y.shape[0]} labels")
    keep = balance(y, ctx.child("attack-balance").rng())
    x, y = x[keep], y[keep]
    k = len(np.unique(y))
    if k < 2 or len(y) // k < folds:
        raise ConfigError(f"the attack needs >= 2 classes with >= {folds} users each after "
                          f"balancing; got {k} classes of {len(y) // max(k, 1)}")
    out = {}
    for name in attackers:
        scores = []
        for r in range(repeats):
            c = ctx.child(f"attack-{name}-repeat{r}")
            cv = StratifiedKFold(folds, shuffle=True, random_state=c.derived_seed() % 2**31)
            seed = c.child("model").derived_seed() % 2**31
            scores += [_fold_scores(_make(name, seed), x[tr], y[tr], x[te], y[te], k)
                       for tr, te in cv.split(x, y)]
        s = np.asarray(scores)
        out[name] = AttackScore(name, *_mean_std(s[:, 0]), *_mean_std(s[:, 1]),
                                *_mean_std(s[:, 2]), n_classes=k, n_per_class=len(y) // k)
        logger.info("attack %s: AUC %.3f ± %.3f", name, out[name].auc, out[name].auc_std)
    return out


def _mean_std(v: np.ndarray) -> tuple[float, float]:
    return float(v.mean()), float(v.std())
