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
