"""Synthetic generator: seeded, sized, power-law, group inferable from interactions."""

from __future__ import annotations

import numpy as np

from cure4rec.data.load import load_dataset
from cure4rec.data.synthetic import SyntheticConfig, generate


def test_seeded_and_sized() -> None:
    cfg = SyntheticConfig(n_users=300, n_items=200, n_interactions=6000, seed=3)
    a, b = generate(cfg), generate(cfg)
    assert len(a.inter) == 6000
    assert a.inter.equals(b.inter)
    c = generate(SyntheticConfig(n_users=300, n_items=200, n_interactions=6000, seed=4))
    assert not a.inter.equals(c.inter)
    assert not a.inter.duplicated(["user", "item"]).any()


def test_power_law_and_group_inferable() -> None:
    ds = load_dataset("synthetic")
    inter = ds.interactions
    deg = np.sort(inter.item_degree())[::-1]
    assert deg[: len(deg) // 10].sum() > 0.3 * deg.sum()  # popular head
    group = inter.user_attributes["group"].to_numpy()
    x = inter.csr().toarray()
    # nearest group centroid (leave-in) recovers the group far above chance (0.5)
    cents = np.stack([x[group == g].mean(0) for g in ("g0", "g1")])
    xn = x / np.maximum(x.sum(1, keepdims=True), 1)
    pred = np.where(np.argmax(xn @ cents.T / np.linalg.norm(cents, axis=1), 1) == 0, "g0", "g1")
    assert (pred == group).mean() > 0.75
    assert "genre" in inter.item_attributes.columns
