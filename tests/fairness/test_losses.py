"""Distinguishability losses: closed-form U2U, MMD² behaviour."""

import pytest
import torch

from cure4rec.fairness.distinguish import d2d_loss, mmd2, u2u_loss, u2u_pair
from tests.fairness._table import BareTable


def test_u2u_closed_form_equals_brute_force() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)
    brute = torch.cdist(a, b).pow(2).sum()
    assert torch.allclose(u2u_pair(a, b, normalize=False), brute, rtol=1e-5)
    assert torch.allclose(u2u_pair(a, b), brute / 35, rtol=1e-5)


def test_u2u_multiclass_averages_normalised_group_pairs() -> None:
    g = torch.Generator().manual_seed(1)
    e = torch.randn(9, 3, generator=g)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, -1])
    pairs = ((0, 1), (0, 2), (1, 2))
    expect = sum(u2u_pair(e[labels == i], e[labels == j]) for i, j in pairs) / 3
    assert torch.allclose(u2u_loss(e, labels), expect)
    raw = sum(u2u_pair(e[labels == i], e[labels == j], False) for i, j in pairs)
    assert torch.allclose(u2u_loss(e, labels, normalize=False), raw)  # the public code's sum
    two = labels.clone()
    two[two == 2] = 1
    assert torch.allclose(u2u_loss(e, two), u2u_pair(e[two == 0], e[two == 1]))


def test_mmd_zero_for_identical_and_grows_with_shift() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(50, 4, generator=g)
    assert abs(float(mmd2(x, x.clone()))) < 1e-6
    small, large = float(mmd2(x, x + 0.5)), float(mmd2(x, x + 2.0))
    assert 0 < small < large
    assert abs(float(mmd2(x, x + 1.0, chunk=7)) - float(mmd2(x, x + 1.0))) < 1e-5


def test_d2d_uses_largest_group_as_anchor() -> None:
    g = torch.Generator().manual_seed(3)
    e = torch.randn(12, 2, generator=g)
    labels = torch.tensor([0] * 3 + [1] * 6 + [2] * 3)
    expect = mmd2(e[:3], e[3:9]) + mmd2(e[9:], e[3:9])
    assert torch.allclose(d2d_loss(e, labels), expect)


def test_balanced_regulariser_shrinks_unequal_groups_alike() -> None:
    """U2U pulls a user ∝ 1/|G|: unweighted, the small group shrinks more (a leak)."""
    from cure4rec.methods.attribute import AttributeConfig, unlearn_attribute, user_weights

    u0 = torch.randn(60, 4, generator=torch.Generator().manual_seed(4))
    labels = torch.tensor([0] * 15 + [1] * 45)
    assert torch.allclose(user_weights(labels, True)[[0, 59]], torch.tensor([2.0, 2 / 3]))

    def shrink(balance: bool) -> list[float]:
        cfg = AttributeConfig(steps=400, lr=0.05, reg="param_l2", balance=balance)
        u = unlearn_attribute(BareTable(u0), labels, None, cfg, "u2u").u.detach()
        return [float((u[g] - u[g].mean(0)).norm() / (u0[g] - u0[g].mean(0)).norm())
                for g in (labels == 0, labels == 1)]

    bal, raw = shrink(True), shrink(False)
    assert abs(bal[0] / bal[1] - 1) < 0.05
    assert raw[0] / raw[1] < 0.8


def test_attribute_config_resolution_and_code_faithful() -> None:
    from cure4rec.errors import ConfigError
    from cure4rec.methods.attribute import AttributeConfig, preconditioner, user_weights

    assert AttributeConfig().resolved("u2u") == ("precond-sgd", 1e-3)
    assert AttributeConfig().resolved("d2d") == ("adam", 1e-3)
    code = AttributeConfig.code_faithful()
    assert code.resolved("u2u") == ("adam", 1e-3) and not code.normalize and not code.balance
    labels = torch.tensor([0] * 15 + [1] * 45 + [-1] * 4)
    p = preconditioner(labels, user_weights(labels, True))
    assert torch.allclose(p[[0, 20, 63]], torch.tensor([15.0, 45.0, 30.0]))
    # K = 3: P_u = K|G(u)|/2, so a preconditioned U2U step contracts every group alike:
    # P_u · ∇_u U2U = 2 (u − mean of the other groups' means)
    labels = torch.tensor([0] * 10 + [1] * 20 + [2] * 30 + [-1] * 2)
    p = preconditioner(labels, user_weights(labels, True))
    assert torch.allclose(p[[0, 10, 30, 61]], torch.tensor([15.0, 30.0, 45.0, 30.0]))
    e = torch.randn(62, 4, generator=torch.Generator().manual_seed(3), requires_grad=True)
    u2u_loss(e, labels).backward()
    means = torch.stack([e[labels == c].mean(0) for c in range(3)]).detach()
    for c in range(3):
        other = means[[k for k in range(3) if k != c]].mean(0)
        step = p[labels == c].unsqueeze(1) * e.grad[labels == c]
        assert torch.allclose(step, 2 * (e[labels == c].detach() - other), atol=1e-5)
    assert torch.all(e.grad[labels < 0] == 0)
    with pytest.raises(ConfigError, match="normalize"):
        AttributeConfig(optimizer="precond-sgd", normalize=False)
