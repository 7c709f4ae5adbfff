"""The user-level MIA's negatives come from a retrained model other than the positives'.

A stub attacker scores each model by a fixed per-user table, so every AUC below is a
hand count of (positive, negative) pairs. If the negatives were taken from the same model
as the retrain positives, `mia_auc.retrain` would be exactly 0.5 and `mia_auc_gap` would
become `auc − 0.5` (what the module docstring forbids).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.metrics.mia import run_mia, user_mia


class _Model:
    """Fixed scores for the interaction attack and a fixed member score per user."""

    def __init__(self, name: str, member: list[float], flip: bool = False) -> None:
        self.name, self.member = name, np.asarray(member)
        s = torch.arange(12, dtype=torch.float32).reshape(2, 6)
        self.s = 11 - s if flip else s

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.s[torch.as_tensor(np.asarray(users), dtype=torch.long)]


@dataclass
class _Attack:
    shadow_auc: float = 0.9
    seen: list[str] = field(default_factory=list)

    def member_scores(self, model: _Model, own: Interactions, users: np.ndarray) -> np.ndarray:
        self.seen.append(model.name)
        return model.member[users]


ORIGINAL = _Model("original", [0.9, 0.8], flip=True)
UNLEARNED = _Model("unlearned", [0.35, 0.55], flip=True)
R0 = _Model("r0", [0.45, 0.6])
R1 = _Model("r1", [0.4, 0.5])
FORGET = Interactions(np.array([0, 1]), np.array([0, 1]), 2, 6)
HOLDOUT = Interactions(np.array([0, 1]), np.array([2, 3]), 2, 6)


def test_negatives_come_from_another_retrained_model() -> None:
    attack = _Attack()
    out = run_mia(ORIGINAL, UNLEARNED, [R0, R1], FORGET, FORGET, FORGET, HOLDOUT,
                  RunContext(seed=0), attack=attack)  # type: ignore[arg-type]
    # negatives: r1's scores {0.4, 0.5}
    assert out["mia_auc.original"] == 1.0              # 4 of 4 pairs
    assert out["mia_auc.retrain"] == pytest.approx(0.75)  # 0.45>0.4, 0.6>both: 3 of 4
    assert out["mia_auc.unlearned"] == pytest.approx(0.5)  # 0.55>both: 2 of 4
    assert out["mia_auc_gap"] == pytest.approx(0.5 - 0.75)
    assert out["mia_shadow_auc"] == 0.9
    # interaction level, calibrated s(u,i) − mean_j s(u,j): members (0,0), (1,1) vs the
    # held-out (0,2), (1,3). Scores 0..5 / 6..11 by row: members −2.5, −1.5 vs −0.5, 0.5 →
    # AUC 0; flipped (11 − s): 2.5, 1.5 vs 0.5, −0.5 → AUC 1
    assert out["interaction_mia_auc.retrain"] == 0.0
    assert out["interaction_mia_auc.original"] == out["interaction_mia_auc.unlearned"] == 1.0
    assert out["interaction_mia_auc_gap"] == 1.0
    # the negatives were scored under r1 only, the positives under the three models
    assert sorted(attack.seen) == ["original", "r0", "r1", "unlearned"]


def test_negative_model_is_not_the_retrain_positives_model() -> None:
    """Fails if the negatives coincide with the retrain positives (AUC then exactly 0.5)."""
    attack = _Attack()
    models = {"retrain": R0}
    same = user_mia(attack, models, R0, FORGET, np.array([0, 1]))  # type: ignore[arg-type]
    assert same["mia_auc.retrain"] == 0.5  # the degenerate case the protocol avoids
    out = run_mia(ORIGINAL, UNLEARNED, [R0, R1], FORGET, FORGET, FORGET, HOLDOUT,
                  RunContext(seed=0), attack=attack)  # type: ignore[arg-type]
    assert out["mia_auc.retrain"] != 0.5
    assert attack.seen[len(models):].count("r1") == 1  # one negative scoring, under r1
