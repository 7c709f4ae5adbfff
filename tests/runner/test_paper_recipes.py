"""The paper-grid recipes for the larger sets expand to CURE4Rec's table (no data needed to
expand: cells are planned from the recipe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cure4rec.runner.cells import expand_cells
from cure4rec.runner.recipe import load_recipe

RECIPES = Path(__file__).parents[2] / "recipes"
PAPER_METHODS = ["receraser", "retrain", "scif", "sisa", "ultrare"]


@pytest.mark.parametrize("path,dataset,models,seeds,n", [
    ("cure4rec/ml-1m.yaml", "ml-1m-cure4rec", ["bpr", "lightgcn", "wmf"], [0, 1, 2], 180),
    ("cure4rec/ml-1m-seed0.yaml", "ml-1m-cure4rec", ["bpr", "lightgcn", "wmf"], [0], 60),
    ("cure4rec/adm.yaml", "adm-cure4rec", ["bpr", "lightgcn", "wmf"], [0, 1, 2], 180),
    ("cure4rec/adm-seed0.yaml", "adm-cure4rec", ["bpr", "lightgcn", "wmf"], [0], 60),
    ("gowalla/gowalla.yaml", "gowalla-lightgcn", ["bpr", "lightgcn"], [0, 1, 2], 117),
    ("gowalla/gowalla-seed0.yaml", "gowalla-lightgcn", ["bpr", "lightgcn"], [0], 39),
])
def test_paper_grid(path, dataset, models, seeds, n) -> None:
    r = load_recipe(RECIPES / path)
    cells = expand_cells(r)
    assert {c.dataset["name"] for c in cells} == {dataset}
    assert sorted({c.model["name"] for c in cells}) == models
    assert sorted({c.method["name"] for c in cells if c.kind == "method"}) == PAPER_METHODS
    assert {c.split["protocol"] for c in cells} == {"presplit"}
    assert {c.forget["strategy"] for c in cells} == {"core", "random", "edge"}
    assert {c.method["config"]["shards"] for c in cells if "shards" in c.method["config"]} \
        == {10}
    assert r.seeds == seeds
    # strategies x seeds x (models x (5 methods + original + retrain) - scif x lightgcn)
    assert len(cells) == 3 * len(seeds) * (len(models) * 7 - 1) == n
