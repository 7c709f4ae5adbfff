"""Recipes: inheritance, sweeps, validation messages naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cure4rec.errors import ConfigError
from cure4rec.runner import expand_cells, load_recipe
from cure4rec.runner.recipe import save_resolved


def test_inheritance_and_sweep(recipe_dir: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    assert r.name == "tiny" and r.forget.strategy == ["random", "core"]
    assert r.models[0].config["dim"] == 8  # inherited
    cells = expand_cells(r)
    # 2 strategies x 1 model x 2 seeds x (2 references + retrain + sisa x 2 shard counts)
    assert len(cells) == 2 * 2 * 5
    assert len({c.config_hash for c in cells}) == len(cells)
    assert {c.method["config"].get("shards") for c in cells if c.method["name"] == "sisa"} == {2, 3}


def test_override_wins(recipe_dir: Path) -> None:
    (recipe_dir / "c2.yaml").write_text("base: base.yaml\nseeds: [5]\n")
    assert load_recipe(recipe_dir / "c2.yaml").seeds == [5]


def test_hash_ignores_locations(recipe_dir: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    a = expand_cells(r, cache_dir="/x")[0]
    b = expand_cells(r, cache_dir="/y")[0]
    assert a.config_hash == b.config_hash


@pytest.mark.parametrize("text,key", [
    ("base: base.yaml\nbogus: 1\n", "bogus"),
    ("base: base.yaml\nforget: {fracton: 0.1}\n", "fracton"),
    ("base: base.yaml\nmethods: [{name: sisa, config: {shardz: 2}}]\n", "shardz"),
    ("base: base.yaml\nseeds: zero\n", "seeds"),
    ("base: base.yaml\nforget: {fraction: 1.5}\n", "forget.fraction"),
    ("base: base.yaml\nfairness: {ucds: {wieght: 1.0e-5}}\n", "wieght"),
    ("base: base.yaml\nfairness: {ucds: {mode: fair}}\n", "fairness.ucds"),
    ("base: base.yaml\nfairness: {dro: {}}\n", "fairness.dro"),
])
def test_errors_name_key_and_file(recipe_dir: Path, text: str, key: str) -> None:
    (recipe_dir / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_recipe(recipe_dir / "bad.yaml")
    assert key in str(exc.value) and "bad.yaml" in str(exc.value)


def test_resolved_roundtrip(recipe_dir: Path, tmp_path: Path) -> None:
    r = load_recipe(recipe_dir / "child.yaml")
    save_resolved(r, tmp_path / "out" / "recipe.resolved.yaml")
    raw = yaml.safe_load((tmp_path / "out" / "recipe.resolved.yaml").read_text())
    assert raw["forget"]["strategy"] == ["random", "core"] and "base" not in raw


@pytest.mark.parametrize("path", sorted(
    p for p in Path(__file__).parents[2].glob("recipes/**/*.yaml") if not p.name.startswith("_")))
def test_shipped_recipes_validate(path: Path) -> None:
    assert expand_cells(load_recipe(path))


def test_unsupported_model_method_pairs_are_left_out(recipe_dir: Path, capsys) -> None:
    import argparse

    from cure4rec.commands.run import main
    from cure4rec.runner.cells import unsupported_pairs

    (recipe_dir / "pairs.yaml").write_text(
        "base: base.yaml\nseeds: [0]\nmodels: [{name: bpr}, {name: lightgcn}]\n"
        "methods: [{name: retrain}, {name: scif}]\n")
    r = load_recipe(recipe_dir / "pairs.yaml")
    assert unsupported_pairs(r) == [("lightgcn", "scif")]
    cells = expand_cells(r)
    got = {(c.model["name"], c.method["name"]) for c in cells}
    assert ("bpr", "scif") in got and ("lightgcn", "retrain") in got
    assert ("lightgcn", "scif") not in got and len(cells) == 4 + 3  # 2 refs + 2 / 1 methods
    main(argparse.Namespace(recipe=str(recipe_dir / "pairs.yaml"), dry_run=True,
                            results=str(recipe_dir / "res")))
    out = capsys.readouterr().out
    assert out.startswith("skipped: scif x lightgcn") and "7 cells, 7 to run" in out


def test_cure4rec_ml100k_grid() -> None:
    r = load_recipe(Path(__file__).parents[2] / "recipes" / "cure4rec" / "ml-100k.yaml")
    cells = expand_cells(r)
    assert sorted({c.model["name"] for c in cells}) == ["bpr", "lightgcn", "wmf"]
    assert {c.method["config"].get("shards") for c in cells if "shards" in c.method["config"]} \
        == {10}
    assert r.seeds == [0, 1, 2]
    # 3 strategies x 3 seeds x (3 models x 7 - scif x lightgcn, which SCIF does not support)
    assert len(cells) == 3 * 3 * (3 * 10 - 1) == 261
