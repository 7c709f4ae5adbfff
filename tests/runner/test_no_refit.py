"""No model is trained twice for the same (data, config, seed) in one run of a recipe.

A small recipe (2 methods x 2 forget strategies, the full evaluator) runs in-process while
every model `fit` is counted by what determines its result: the train and validation data,
the model config, the derived seed and the fit's keyword arguments. The original, the
retrain references, the methods' learned states (SISA's shards included) and the attack
shadows must each be fitted once.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cure4rec.context import RunContext
from cure4rec.data.interactions import Interactions
from cure4rec.models.torch_base import TorchRecommender
from cure4rec.runner import load_recipe, run_recipe
from cure4rec.runner.executors import ProcessExecutor
from tests.runner.fit_log import counting_cell, fit_key

RECIPE = """name: no-refit
dataset: {name: synthetic, params: {n_users: 120, n_items: 80, n_interactions: 1500}}
models: [{name: bpr, config: {dim: 8, epochs: 2, batch_size: 512}}]
methods: [{name: retrain}, {name: sisa, config: {shards: 2}}, {name: finetune, config: {epochs: 1}}]
forget: {strategy: [random, core], fraction: 0.05}
seeds: [0]
references: {retrain_seeds: 3, method_seeds: 3}
evaluator: {ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8, difficulty: null}
"""


sharded: set[str] = set()  # fit keys of SISA's learned shards


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = TorchRecommender.fit
    sharded.clear()

    def counted(self: TorchRecommender, train: Interactions, valid: Interactions | None,
                ctx: RunContext, **kw: Any) -> Any:
        key = fit_key(self, train, valid, ctx, kw)
        seen[key] += 1
        if "sisa-learn" in ctx.path:
            sharded.add(key)
        return real(self, train, valid, ctx, **kw)

    monkeypatch.setattr(TorchRecommender, "fit", counted)
    return seen


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_no_model_is_fitted_twice(tmp_path: Path, fits: Counter[str]) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE)
    summary = run_recipe(load_recipe(tmp_path / "r.yaml"), tmp_path / "results",
                         progress=False)
    assert not summary.failed and len(summary.ran) == 10
    twice = {k: n for k, n in fits.items() if n > 1}
    assert not twice, f"{len(twice)} (data, config, seed) keys fitted more than once: {twice}"
    # SISA's random and core cells share one learned state (2 shards, from the cache)
    assert len(sharded) >= 2
    # one original for both strategies (the same train set), 3 references per strategy;
    # unshared: each of the 10 cells would train 1 + 3, and the retrain and finetune cells
    # (2 + 2) their own learned model
    assert (summary.trainings, summary.trainings_saved) == (1 + 2 * 3, 10 * 4 + 4 - 7)
    assert summary.device == "cpu"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pool_workers_do_not_train_a_shared_model_twice(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers start the first two cells of a group together: both need the original
    and the references; the cache's entry lock makes one train them and the other load."""
    log = tmp_path / "fits.log"
    monkeypatch.setenv("CURE4REC_FIT_LOG", str(log))
    (tmp_path / "r.yaml").write_text(RECIPE)
    summary = run_recipe(load_recipe(tmp_path / "r.yaml"), tmp_path / "results",
                         ProcessExecutor(2), progress=False, fn=counting_cell)
    assert not summary.failed and len(summary.ran) == 10
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    # attack shadows are kept in memory per process (one fit per worker that evaluates a
    # method cell of the group), so they are left out: every other model is counted
    fits = Counter(key for path, key in lines if "/mia/" not in f"/{path}/")
    assert fits
    twice = {k: n for k, n in fits.items() if n > 1}
    assert not twice, f"fitted more than once across workers: {twice}"
