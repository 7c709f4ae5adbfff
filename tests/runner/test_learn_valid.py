"""What the original and the unlearned models early-stop on.

The original model is cached by the train set's hash and shared by the core / random /
edge cells of one data split, so it must be trained on data that does not depend on the
forget strategy: the split's whole validation set. Anything retrained after a user request
early-stops without the forgotten users' validation pairs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.methods.base import make_method
from cure4rec.models.base import ModelSpec
from cure4rec.models.torch_base import TorchRecommender
from cure4rec.runner import expand_cells, load_recipe
from cure4rec.runner.pipeline import forget_split_of, run_cell

RECIPE = """name: learn-valid
dataset: {name: synthetic, params: {n_users: 120, n_items: 80, n_interactions: 1500}}
models: [{name: bpr, config: {dim: 8, epochs: 2, batch_size: 512}}]
methods: [{name: retrain}]
forget: {strategy: STRATEGY, fraction: 0.1}
seeds: [0]
references: {retrain_seeds: 1}
evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null,
            completeness: false, mia: false, mio: false}
"""


def _pairs(x: Interactions) -> set[tuple[int, int]]:
    return set(zip(x.user.tolist(), x.item.tolist()))


@pytest.fixture
def fit_valids(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Interactions | None]]:
    seen: list[tuple[str, Interactions | None]] = []
    real = TorchRecommender.fit

    def logged(self: TorchRecommender, train: Interactions, valid: Interactions | None,
               ctx: RunContext, **kw: Any) -> Any:
        seen.append(("/".join(ctx.path), valid))
        return real(self, train, valid, ctx, **kw)

    monkeypatch.setattr(TorchRecommender, "fit", logged)
    return seen


def test_the_original_does_not_depend_on_the_forget_strategy(
        tmp_path: Path, fit_valids: list[tuple[str, Interactions | None]]) -> None:
    """Two runs, each with its own cache, one per strategy: the original of each is
    early-stopped on the same pairs, the data split's whole validation set (before the
    fix each used its own split's `valid`, which lacks that strategy's forgotten users)."""
    originals, splits = [], []
    for strategy in ("core", "edge"):
        path = tmp_path / f"{strategy}.yaml"
        path.write_text(RECIPE.replace("STRATEGY", strategy))
        cell = next(c for c in expand_cells(load_recipe(path)) if c.kind == "original")
        cell = dataclasses.replace(cell, cache_dir=str(tmp_path / f"cache-{strategy}"))
        fit_valids.clear()
        run_cell(cell)
        fs = forget_split_of(cell)
        splits.append(fs)
        [valid] = [v for p, v in fit_valids if "original" in p]
        assert valid is not None
        originals.append(_pairs(valid))
    core, edge = splits
    whole = _pairs(core.valid) | _pairs(core.holdout_valid)
    assert whole == _pairs(edge.valid) | _pairs(edge.holdout_valid)
    assert _pairs(core.valid) != _pairs(edge.valid)  # the strategies do hold out different users
    assert originals[0] == originals[1] == whole


def test_unlearning_retrains_without_the_forgotten_users_validation_pairs(
        fit_valids: list[tuple[str, Interactions | None]], recipe_dir: Path) -> None:
    """SISA learns with the whole validation set; the shards it retrains at unlearn time
    early-stop on validation pairs of retained users only."""
    (recipe_dir / "r.yaml").write_text(RECIPE.replace("STRATEGY", "core"))
    cell = next(c for c in expand_cells(load_recipe(recipe_dir / "r.yaml")))
    fs, ctx = forget_split_of(cell), RunContext(seed=0)
    assert len(fs.holdout_valid)
    method = make_method("sisa", ModelSpec("bpr", {"dim": 8, "epochs": 2}), {"shards": 2})
    state = method.learn(fs.train, ctx, valid=fs.full_valid)
    learned = [v for _, v in fit_valids]
    assert any(v is not None and np.isin(v.user, fs.request.users).any() for v in learned)
    fit_valids.clear()
    out = method.unlearn(state, fs.request, ctx)
    assert fit_valids, "no shard was retrained"
    for _, v in fit_valids:
        assert v is not None and not np.isin(v.user, fs.request.users).any()
    assert out.state.valid is not None
    assert not np.isin(out.state.valid.user, fs.request.users).any()
    assert state.valid is fs.full_valid  # the learned state itself is left as it was
