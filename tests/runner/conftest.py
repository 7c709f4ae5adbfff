"""Shared helpers: a tiny two-level recipe in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

BASE = """name: tiny
dataset: {name: synthetic, params: {n_users: 120, n_items: 80, n_interactions: 1500}}
models: [{name: bpr, config: {dim: 8, epochs: 2, batch_size: 512}}]
methods: [{name: retrain}, {name: sisa, config: {shards: [2, 3]}}]
seeds: [0, 1]
"""
CHILD = """base: base.yaml
forget: {strategy: [random, core], fraction: 0.05}
"""


@pytest.fixture
def recipe_dir(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "child.yaml").write_text(CHILD)
    return tmp_path
