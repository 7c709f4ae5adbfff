"""Distinguishability losses: closed-form U2U, MMD² behaviour."""

import torch

from cure4rec.fairness.distinguish import d2d_loss, mmd2, u2u_loss, u2u_pair


def test_u2u_closed_form_equals_brute_force() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)
    brute = torch.cdist(a, b).pow(2).sum()
    assert torch.allclose(u2u_pair(a, b, normalize=False), brute, rtol=1e-5)
    assert torch.allclose(u2u_pair(a, b), brute / 35, rtol=1e-5)


def test_u2u_multiclass_sums_group_pairs() -> None:
    g = torch.Generator().manual_seed(1)
    e = torch.randn(9, 3, generator=g)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, -1])
    expect = sum(u2u_pair(e[labels == i], e[labels == j]) for i, j in ((0, 1), (0, 2), (1, 2)))
    assert torch.allclose(u2u_loss(e, labels), expect)


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
