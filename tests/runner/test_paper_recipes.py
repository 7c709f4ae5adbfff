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


def test_ml1m_budgets_override_base_and_ml100k_keeps_base() -> None:
    # Issue 13: ML-1M trains with its own budgets (large batches, validation every few
    # epochs); ML-100K's committed records were computed with _base.yaml's, which it keeps.
    def budgets(path: str) -> dict[str, dict]:
        return {m.name: dict(m.config) for m in load_recipe(RECIPES / path).models}

    base = {"wmf": {"dim": 64, "epochs": 30, "patience": 5, "reg": 20.0, "alpha": 2.0,
                    "threads": 1},
            "bpr": {"dim": 64, "epochs": 100, "batch_size": 4096, "lr": 0.005, "patience": 5},
            "lightgcn": {"dim": 64, "layers": 3, "epochs": 100, "batch_size": 4096, "lr": 0.005,
                         "patience": 5}}
    assert budgets("cure4rec/ml-100k.yaml") == base
    for path in ("cure4rec/ml-1m.yaml", "cure4rec/ml-1m-seed0.yaml"):
        ml1m = budgets(path)
        assert sorted(ml1m) == ["bpr", "lightgcn", "wmf"]
        assert ml1m["bpr"]["batch_size"] == ml1m["lightgcn"]["batch_size"] == 65536
        assert all(c["eval_every"] == 3 for c in ml1m.values())
        assert ml1m["wmf"]["epochs"] < base["wmf"]["epochs"]
        for name, c in ml1m.items():  # the rest of each model's setup is _base.yaml's
            assert {k: c[k] for k in ("dim", "reg", "alpha", "layers") if k in c} \
                == {k: base[name][k] for k in ("dim", "reg", "alpha", "layers") if k in c}
