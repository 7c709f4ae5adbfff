"""`device:` in recipes and `--device` on the CLI: auto resolves, cuda without CUDA is a
ConfigError before anything runs, and records name the device actually used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cure4rec.context import resolve_device
from cure4rec.errors import ConfigError
from cure4rec.runner import expand_cells, load_recipe, run_recipe
from cure4rec.runner.toy import toy_cell

RECIPE = """name: dev
dataset: {name: synthetic, params: {n_users: 120, n_items: 80, n_interactions: 1500}}
models: [{name: bpr, config: {dim: 8, epochs: 2, batch_size: 512}}]
methods: [{name: retrain}]
forget: {strategy: random, fraction: 0.05}
seeds: [0]
references: {retrain_seeds: 3}
"""
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")


def test_resolve_device() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("AUTO") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@NO_CUDA
def test_cuda_without_cuda_is_a_config_error() -> None:
    for name in ("cuda", "cuda:0"):
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device(name, "--device")


def test_recipe_device_is_validated_and_not_hashed(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(RECIPE)
    (tmp_path / "b.yaml").write_text(RECIPE + "device: auto\n")
    (tmp_path / "c.yaml").write_text(RECIPE + "device: gpu\n")
    a, b = load_recipe(tmp_path / "a.yaml"), load_recipe(tmp_path / "b.yaml")
    assert a.device == "cpu" and b.device == "auto"
    assert [c.config_hash for c in expand_cells(a)] == [c.config_hash for c in expand_cells(b)]
    with pytest.raises(ConfigError, match="device 'gpu'"):
        load_recipe(tmp_path / "c.yaml")


@NO_CUDA
def test_run_with_cuda_fails_before_any_cell(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE + "device: cuda\n")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        run_recipe(load_recipe(tmp_path / "r.yaml"), tmp_path / "res", progress=False,
                   fn=toy_cell)
    assert not (tmp_path / "res").exists()
    (tmp_path / "s.yaml").write_text(RECIPE)
    with pytest.raises(ConfigError, match="--device"):
        run_recipe(load_recipe(tmp_path / "s.yaml"), tmp_path / "res", device="cuda",
                   progress=False, fn=toy_cell)


def test_auto_runs_the_real_pipeline_and_records_the_device(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE.replace("seeds: [0]", "seeds: [0]\nevaluator: "
                                     "{ks: [20], bootstrap: 0, neighbours_k: 20, svd_dim: 8,"
                                     " difficulty: null, mia: false}") + "device: auto\n")
    summary = run_recipe(load_recipe(tmp_path / "r.yaml"), tmp_path / "res", progress=False)
    used = "cuda" if torch.cuda.is_available() else "cpu"
    assert summary.device == used and not summary.failed
    recs = [json.loads(p.read_text()) for p in (tmp_path / "res/dev/records").glob("*.json")]
    assert len(recs) == 3 and {r["environment"]["device"] for r in recs} == {used}
