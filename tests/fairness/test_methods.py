"""Attribute methods and UCDS end to end on a toy synthetic dataset with a planted group."""

import numpy as np
import pytest
import torch

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.fairness.embeddings import attribute_codes, user_representation
from cure4rec.fairness.ucds import ucds_regularizer
from cure4rec.forget.request import ForgetRequest
from cure4rec.methods.attribute import AttributeConfig, unlearn_attribute
from cure4rec.methods.base import make_method
from cure4rec.metrics.attribute_attack import attribute_attack
from cure4rec.models.base import ModelSpec
from tests.fairness._table import BareTable

MODEL = ModelSpec("bpr", {"dim": 16, "epochs": 15, "batch_size": 512, "lr": 0.01,
                          "patience": 100})


@pytest.fixture(scope="module")
def split():  # type: ignore[no-untyped-def]
    ds = load_dataset("synthetic", n_users=240, n_items=120, n_interactions=6000, n_groups=3,
                      group_strength=3.0)
    return split_dataset(ds, seed=0)


def _request(train, users=None):  # type: ignore[no-untyped-def]
    empty = train.subset(np.zeros(0, dtype=np.int64))
    return ForgetRequest("attribute", empty, np.arange(train.n_users) if users is None else users,
                         attribute="group")


def test_d2d_lowers_attack_auc_on_three_groups(split) -> None:  # type: ignore[no-untyped-def]
    ctx = RunContext(seed=0)
    method = make_method("attribute-d2d", MODEL, {"steps": 150, "lr": 0.01, "reg": "param_l2"})
    state = method.learn(split.train, ctx, split.valid)
    codes, classes = attribute_codes(split.train, "group")
    assert len(classes) == 3
    before = attribute_attack(user_representation(state.model), codes, ctx, ("gb",), repeats=1)
    res = method.unlearn(state, _request(split.train), ctx)
    after = attribute_attack(user_representation(res.model), codes, ctx, ("gb",), repeats=1)
    assert before["gb"].auc > 0.7
    assert after["gb"].auc < before["gb"].auc - 0.1
    assert res.model is not state.model and method.card.request_kinds == ("attribute",)


def test_u2u_and_rank_hinge_run_and_leave_items_untouched(split) -> None:  # type: ignore[no-untyped-def]
    ctx = RunContext(seed=0)
    method = make_method("attribute-u2u", MODEL, {"steps": 20, "reg": "rank_hinge"})
    state = method.learn(split.train, ctx, split.valid)
    res = method.unlearn(state, _request(split.train), ctx)
    assert np.allclose(res.model.item_table().detach(), state.model.item_table().detach())
    assert not np.allclose(res.model.user_table().detach(), state.model.user_table().detach())


def test_adversarial_and_sisa_with_ucds_train(split) -> None:  # type: ignore[no-untyped-def]
    ctx = RunContext(seed=0)
    small = ModelSpec("bpr", {**MODEL.config, "epochs": 3})
    scores = (lambda m: m.score(np.arange(split.train.n_users)).detach())
    adv = make_method("attribute-adversarial", small)
    state = adv.learn(split.train, ctx, split.valid)
    out = adv.unlearn(state, _request(split.train), ctx).model
    # the request retrains from scratch with the adversary: a new model, other scores
    assert out is not state.model and not torch.allclose(scores(out), scores(state.model))
    assert torch.isfinite(scores(out)).all()
    sisa = make_method("sisa", small, {"shards": 2}, regularizers=[ucds_regularizer(weight=1e-3)])
    assert "ucds" in sisa.describe()["regularizers"][0]
    sstate = sisa.learn(split.train, ctx, split.valid)
    plain = make_method("sisa", small, {"shards": 2}).learn(split.train, ctx, split.valid)
    assert sstate.model.score(np.arange(4)).shape == (4, split.train.n_items)
    # the UCDS term reaches every shard's training: the served scores differ from plain SISA
    assert not torch.allclose(scores(sstate.model), scores(plain.model))


def test_u2u_does_not_raise_attack_auc_on_planted_attribute() -> None:
    """Round-2 defect: U2U under Adam made a planted attribute *more* inferable (sign-like
    per-coordinate steps pile each group up at the other group's mean); the default
    preconditioned SGD contracts both groups by the same affine map and lowers the AUC."""
    u0 = torch.randn(300, 8, generator=torch.Generator().manual_seed(5))
    u0[:100, :4] += 0.6
    labels = torch.tensor([0] * 100 + [1] * 200)

    def gb_auc(u: torch.Tensor) -> float:
        return attribute_attack(u.numpy(), labels.numpy(), RunContext(seed=0), ("gb",),
                                repeats=1)["gb"].auc

    def run(**kw: object) -> torch.Tensor:
        cfg = AttributeConfig(reg="none", **kw)  # type: ignore[arg-type]
        return unlearn_attribute(BareTable(u0), labels, None, cfg, "u2u").u.detach()

    before = gb_auc(u0)
    fixed, adam = run(), run(optimizer="adam")
    assert before > 0.7
    assert gb_auc(fixed) < before - 0.1
    assert gb_auc(adam) > before  # the defect is reproduced by the old optimiser
    # exact affine contraction: every group's deviations shrink by (1 - 2 lr)^steps
    for g in (labels == 0, labels == 1):
        ratio = (fixed[g] - fixed[g].mean(0)) / (u0[g] - u0[g].mean(0))
        assert torch.allclose(ratio, torch.full_like(ratio, (1 - 2e-3) ** 500), rtol=1e-3)
