"""Recipes, cells, executors and run records (`cure4rec run`)."""

from cure4rec.runner.cells import CellSpec, expand_cells
from cure4rec.runner.recipe import Recipe, load_recipe
from cure4rec.runner.run import RunSummary, run_recipe

__all__ = ["CellSpec", "Recipe", "RunSummary", "expand_cells", "load_recipe", "run_recipe"]
