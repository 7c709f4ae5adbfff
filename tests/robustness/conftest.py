"""Fixtures of the robustness suite (helpers: `_robust.py`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _robust import TINY, write


@pytest.fixture(scope="session")
def earlier_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder holding real records of a tiny run (3 cells), computed once."""
    from cure4rec.runner.recipe import load_recipe
    from cure4rec.runner.run import run_recipe

    root = tmp_path_factory.mktemp("earlier")
    recipe = write(root / "tiny.yaml", TINY)
    run_recipe(load_recipe(recipe), root / "results", progress=False)
    return root


@pytest.fixture()
def results(earlier_results: Path, tmp_path: Path) -> Path:
    """A private copy of the earlier results (`<tmp>/results/tiny/...`) and the recipe."""
    shutil.copytree(earlier_results, tmp_path, dirs_exist_ok=True)
    return tmp_path / "results"
