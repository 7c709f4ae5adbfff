"""No model is trained twice for the same (data, config, seed) in one run of a recipe.

A small recipe (2 methods x 2 forget strategies, the full evaluator) runs in-process while
every model `fit` is counted by what determines its result: the train and validation data,
the model config, the derived seed and the fit's keyword arguments. The original, the
retrain references, the methods' learned states (SISA's shards included) and the attack
shadows must each be fitted once.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.models.torch_base import TorchRecommender
from cure4rec.runner import load_recipe, run_recipe

RECIPE = """name: no-refit
dataset: {name: synthetic, params: {n_users: 120, n_items: 80, n_interactions: 1500}}
models: [{name: bpr, config: {dim: 8, epochs: 2, batch_size: 512}}]
methods: [{name: retrain}, {name: sisa, config: {shards: 2}}, {name: finetune, config: {epochs: 1}}]
forget: {strategy: [random, core], fraction: 0.05}
seeds: [0]
references: {retrain_seeds: 3, method_seeds: 3}
evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null}
"""


def _data_key(x: Interactions | None) -> str:
    if x is None:
        return "-"
    h = hashlib.sha256()
    for a in (x.user, x.item):
        h.update(a.tobytes())
    return h.hexdigest()[:16]


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[Any, ...]]:
    seen: Counter[tuple[Any, ...]] = Counter()
    real = TorchRecommender.fit

    def counted(self: TorchRecommender, train: Interactions, valid: Interactions | None,
                ctx: RunContext, **kw: Any) -> Any:
        init = kw.get("init_from")
        extra = {k: v for k, v in kw.items() if k not in ("init_from", "regularizers")}
        seen[(self.name, repr(self.config), _data_key(train), _data_key(valid),
              ctx.derived_seed(), repr(sorted(extra.items())),
              None if init is None else id(init))] += 1
        return real(self, train, valid, ctx, **kw)

    monkeypatch.setattr(TorchRecommender, "fit", counted)
    return seen


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_no_model_is_fitted_twice(tmp_path: Path, fits: Counter[tuple[Any, ...]]) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE)
    summary = run_recipe(load_recipe(tmp_path / "r.yaml"), tmp_path / "results",
                         progress=False)
    assert not summary.failed and len(summary.ran) == 10
    twice = {k: n for k, n in fits.items() if n > 1}
    assert not twice, f"{len(twice)} (data, config, seed) keys fitted more than once: {twice}"
    # one original for both strategies (the same train set), 3 references per strategy;
    # unshared: each of the 10 cells would train 1 + 3, and the retrain and finetune cells
    # (2 + 2) their own learned model
    assert (summary.trainings, summary.trainings_saved) == (1 + 2 * 3, 10 * 4 + 4 - 7)
    assert summary.device == "cpu"
