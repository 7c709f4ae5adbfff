"""The adversaries of docs/fairness.md: attacker panel, top-k lists, scores, the difference
attack, served representations, out-of-sample labels and bit-identical unlearned rows."""

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.fairness.embeddings import served_rows, user_representation, user_rows
from cure4rec.methods.adversarial import AdversarialFactory
from cure4rec.methods.attribute import AttributeConfig, unlearn_attribute
from cure4rec.metrics.attribute_attack import (
    ATTACKERS,
    attribute_attack,
    difference_features,
    panel_max,
    score_features,
    topk_features,
)
from cure4rec.models.base import ModelSpec


def _planted(n_users: int = 200, n_items: int = 100, per_user: int = 15, block: int = 30,
             seed: int = 0, strength: float = 0.7) -> tuple[Interactions, np.ndarray]:
    """Users of group 1 pick `strength` of their items from the block 0..block-1, group 0
    never does; everything else uniform over the remaining items (strength 0: no signal)."""
    rng = np.random.default_rng(seed)
    group = (np.arange(n_users) % 2).astype(np.int64)
    users, items = [], []
    for u in range(n_users):
        n_block = int(round(strength * per_user)) if group[u] else 0
        picks = np.concatenate([rng.choice(block, n_block, replace=False),
                                rng.choice(np.arange(block, n_items), per_user - n_block,
                                           replace=False)])
        users += [u] * per_user
        items += picks.tolist()
    return Interactions.from_pairs(np.array(users), np.array(items), n_users, n_items), group


@pytest.fixture(scope="module")
def planted():  # type: ignore[no-untyped-def]
    train, group = _planted()
    model = ModelSpec("bpr", {"dim": 16, "epochs": 20, "batch_size": 256, "lr": 0.01,
                              "patience": 100}).build()
    model.fit(train, None, RunContext(seed=0))
    return train, group, model


def test_topk_list_attack_detects_attribute_planted_in_item_choices(planted) -> None:  # type: ignore[no-untyped-def]
    train, group, model = planted
    lists = topk_features(model, train, 20)
    assert lists.shape[0] == train.n_users and np.all(lists.sum(1) == 20)
    res = attribute_attack(lists, group, RunContext(seed=0), ("lr", "knn"), repeats=1)
    assert res["lr"].auc > 0.9 and res["lr"].auc_low > 0.8
    # the same lists with labels unrelated to the choices read chance
    shuffled = np.random.default_rng(1).permutation(group)
    null = attribute_attack(lists, shuffled, RunContext(seed=0), ("lr",), repeats=1)["lr"]
    assert abs(null.auc - 0.5) < 0.12 and null.auc_low < 0.5 < null.auc_high + 0.05


def test_attacks_separate_the_original_from_a_model_trained_without_the_signal(planted) -> None:  # type: ignore[no-untyped-def]
    """The same users and labels; the second model's data carry no group preference: the
    representation and list attacks read the first and not the second."""
    train, group, model = planted
    clean, same = _planted(strength=0.0)
    assert np.array_equal(group, same)
    null = ModelSpec("bpr", {"dim": 16, "epochs": 20, "batch_size": 256, "lr": 0.01,
                             "patience": 100}).build()
    null.fit(clean, None, RunContext(seed=0))
    for feats in (lambda m, t: user_representation(m), lambda m, t: topk_features(m, t, 20)):
        leak = panel_max(attribute_attack(feats(model, train), group, RunContext(seed=0),
                                          ("lr", "knn"), repeats=1))
        none = panel_max(attribute_attack(feats(null, clean), group, RunContext(seed=0),
                                          ("lr", "knn"), repeats=1))
        assert leak.auc > 0.9 and leak.auc_low > none.auc_high
        assert none.auc_low < 0.5 + 0.05 and abs(none.auc - 0.5) < 0.12


def test_scores_and_difference_features(planted) -> None:  # type: ignore[no-untyped-def]
    train, group, model = planted
    s = score_features(model, train, 32)
    assert s.shape == (train.n_users, 32)
    assert attribute_attack(s, group, RunContext(seed=0), ("lr",), repeats=1)["lr"].auc > 0.9
    rep = user_representation(model)
    moved = rep.copy()
    moved[group == 1] += 0.5  # an update that moves one group only
    d = difference_features(rep, moved)
    assert attribute_attack(d, group, RunContext(seed=0), ("lr",), repeats=1)["lr"].auc > 0.99
    with pytest.raises(ConfigError):
        difference_features(rep, rep[:, :3])


def test_regressed_out_attribute_reads_chance_for_lr() -> None:
    """The attribute's (population) effect regressed out: chance, over every labelled user.
    Regressed out with the attacked users' own exact class means: *below* chance, the
    cross-validation artefact that in-sample D2D shows too (docs/fairness.md)."""
    rng = np.random.default_rng(0)
    n = 600
    y = (rng.random(n) < 0.3).astype(np.int64)  # imbalanced: no down-sampling needed
    shift = np.linspace(0.2, 1.0, 12)
    x = rng.normal(size=(n, 12)) + np.outer(y, shift)
    before = attribute_attack(x, y, RunContext(seed=0), ("lr",), repeats=1)["lr"]
    after = attribute_attack(x - np.outer(y, shift), y, RunContext(seed=0), ("lr",),
                             repeats=2)["lr"]
    assert before.auc > 0.9
    assert after.auc_low < 0.5 < after.auc_high and abs(after.auc - 0.5) < 0.06
    assert after.n_users == n  # every labelled user, none dropped
    onehot = np.stack([y == 0, y == 1], 1).astype(float)
    beta, *_ = np.linalg.lstsq(onehot, x, rcond=None)
    exact = attribute_attack(x - onehot @ beta, y, RunContext(seed=0), ("lr",),
                             repeats=2)["lr"]
    assert exact.auc_high < 0.45


def test_panel_every_attacker_and_multiclass() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 6)) + 1.5 * np.eye(6)[y]
    res = attribute_attack(x, y, RunContext(seed=0), ATTACKERS, folds=3, repeats=1)
    assert set(res) == set(ATTACKERS)
    assert all(r.auc > 0.75 and r.auc_low <= r.auc <= r.auc_high for r in res.values())
    best = panel_max(res)
    assert best.auc == max(r.auc for r in res.values())
    again = attribute_attack(x, y, RunContext(seed=0), ("svm", "gb"), folds=3, repeats=1)
    assert again["svm"] == res["svm"] and again["gb"] == res["gb"]


def test_served_rows_are_lightgcn_propagation_and_unlearning_targets_them() -> None:
    train, group = _planted(n_users=80, n_items=60, per_user=10, block=15)
    model = ModelSpec("lightgcn", {"dim": 8, "epochs": 3, "batch_size": 256}).build()
    model.fit(train, None, RunContext(seed=0))
    assert torch.equal(served_rows(model), model.propagate()[0])
    assert not torch.equal(served_rows(model), user_rows(model))
    labels = torch.from_numpy(group)
    cfg = AttributeConfig(steps=30, reg="param_l2", lr=0.05, optimizer="adam")
    served = unlearn_attribute(model.copy(), labels, train, cfg, "d2d")
    ego = unlearn_attribute(model.copy(), labels, train,
                            AttributeConfig(steps=30, reg="param_l2", lr=0.05,
                                            optimizer="adam", target="ego"), "d2d")
    assert not torch.equal(served.user_table(), ego.user_table())
    assert torch.equal(served.item_table(), model.item_table())


def test_same_seed_bit_identical_unlearned_rows(planted) -> None:  # type: ignore[no-untyped-def]
    train, group, model = planted
    labels = torch.from_numpy(np.where(np.arange(len(group)) < 150, group, -1))
    for loss, cfg in (("u2u", AttributeConfig(steps=10)),
                      ("d2d", AttributeConfig(steps=10, sample=30))):
        a = unlearn_attribute(model.copy(), labels, train, cfg, loss, seed=3)
        b = unlearn_attribute(model.copy(), labels, train, cfg, loss, seed=3)
        assert torch.equal(a.user_table(), b.user_table()), loss
        assert not torch.equal(a.user_table(), model.user_table())
        # only user rows move: a user folded in later meets the original item table
        assert torch.equal(a.item_table(), model.item_table())
    c = unlearn_attribute(model.copy(), labels, train, AttributeConfig(steps=10, sample=30),
                          "d2d", seed=4)
    assert not torch.equal(c.user_table(), a.user_table())  # the seed does reach the sample


def test_adversary_uses_only_the_seen_users_labels(planted) -> None:  # type: ignore[no-untyped-def]
    train, _, _ = planted
    import pandas as pd

    from cure4rec.data.interactions import Interactions as I  # noqa: N817
    attrs = pd.DataFrame({"g": ["a", "b"] * (train.n_users // 2)})
    data = I(train.user, train.item, train.n_users, train.n_items, user_attributes=attrs)
    reg = AdversarialFactory("g", users=np.arange(10))(data, RunContext(seed=0))
    assert (reg.labels[:10] >= 0).all() and (reg.labels[10:] == -1).all()
    full = AdversarialFactory("g")(data, RunContext(seed=0))
    assert (full.labels >= 0).all()
