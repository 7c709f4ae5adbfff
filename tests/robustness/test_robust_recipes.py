"""Hostile recipes: code execution, escapes from --results, YAML bombs, huge sweeps, typos.

A recipe is data. Each case runs `cure4rec run` (or `--dry-run`) in-process next to an
earlier results folder and checks: exit 2, one line naming the key / value, no traceback,
nothing written, the earlier records untouched.
"""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import pytest
from _robust import TINY, Snapshot, cli, expect_error, write


class _Evil:
    """Unpickling this creates `marker`: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def _recbole_recipe(tmp: Path, params: str, model: str = "BPR") -> tuple[Path, Path]:
    marker = tmp / "PWNED"
    (tmp / "evil.pth").write_bytes(pickle.dumps(_Evil(marker)))
    recipe = write(tmp / "evil.yaml", TINY.replace(
        "models: [{name: bpr, config: {dim: 4, epochs: 1, batch_size: 512}}]",
        f"models: [{{name: recbole, config: {{model: {model}, epochs: 1, params: {params}}}}}]"))
    return recipe, marker


# ---------------------------------------------------------------- code execution via params
@pytest.mark.parametrize("params,key", [
    (f"{{dataset_save_path: {'evil.pth'}, save_dataset: true}}", "params.dataset_save_path"),
    ("{dataloaders_save_path: evil.pth}", "params.dataloaders_save_path"),
    ("{checkpoint_dir: /tmp}", "params.checkpoint_dir"),
    ("{data_path: /etc}", "params.data_path"),
    ("{learner: ../../evil.pth}", "params.learner"),
    ("{train_neg_sample_args: {dataset_save_path: evil.pth}}", "dataset_save_path"),
])
def test_recbole_params_cannot_load_files(capsys, results, tmp_path, params, key) -> None:
    recipe, marker = _recbole_recipe(tmp_path, params)
    snap = Snapshot(results)
    line = expect_error(cli(capsys, "run", recipe, "--results", results, "--no-progress"),
                        key, "not allowed", snapshot=snap)
    assert "recipe" not in line or "evil.yaml" in line
    assert not marker.exists()


def test_neumf_pretrain_path_refused(capsys, results, tmp_path) -> None:
    recipe, marker = _recbole_recipe(
        tmp_path, "{use_pretrain: true, mf_pretrain_path: evil.pth}", model="NeuMF")
    snap = Snapshot(results)
    expect_error(cli(capsys, "run", recipe, "--results", results, "--dry-run"),
                 "not allowed", snapshot=snap)
    assert not marker.exists()


def test_recbole_params_refused_through_train_and_check_method(capsys, tmp_path) -> None:
    _, marker = _recbole_recipe(tmp_path, "{}")
    cfg = ('{"model": "BPR", "epochs": 1, "params": {"dataset_save_path": "%s"}}'
           % (tmp_path / "evil.pth"))
    out = tmp_path / "train-out"
    expect_error(cli(capsys, "train", "--dataset", "synthetic", "--model", "recbole",
                     "--config", cfg, "--out", out), "params.dataset_save_path")
    assert not out.exists() and not marker.exists()
    expect_error(cli(capsys, "check-method", "retrain", "--model", "recbole",
                     "--model-config", cfg), "params.dataset_save_path")
    assert not marker.exists()


def test_allowed_recbole_params_pass(capsys, results, tmp_path) -> None:
    recipe, _ = _recbole_recipe(tmp_path, "{embedding_size: 8, weight_decay: 0.0}")
    rc, out, err = cli(capsys, "run", recipe, "--results", results, "--dry-run")
    assert rc == 0 and "cells, " in out, err


# ---------------------------------------------------------------- code imports need --allow-code
def _with_method(tmp: Path, name: str, key: str = "methods") -> Path:
    text = TINY
    if key == "methods":
        text = text.replace("methods: [{name: retrain}]", f"methods: [{{name: '{name}'}}]")
    elif key == "models":
        text = text.replace("models: [{name: bpr, config: {dim: 4, epochs: 1, batch_size: 512}}]",
                            f"models: [{{name: '{name}'}}]")
    else:
        text += f"forget: {{strategy: '{name}'}}\n"
    return write(tmp / "code.yaml", text)


@pytest.mark.parametrize("name,key", [
    ("this:Zen", "methods"),
    ("os:system", "forget"),
    ("cure4rec.testing.toy:ToyMF", "models"),
    ("cure4rec.methods.retrain:Retrain", "methods"),
])
def test_module_imports_refused_without_allow_code(capsys, results, tmp_path, name, key) -> None:
    recipe = _with_method(tmp_path, name, key)
    snap = Snapshot(results)
    line = expect_error(cli(capsys, "run", recipe, "--results", results, "--dry-run"),
                        repr(name), "--allow-code", snapshot=snap)
    assert "imports code" in line
    assert "Beautiful is better" not in capsys.readouterr().out  # `this` never imported


def test_file_method_refused_then_listed_with_allow_code(capsys, results, tmp_path) -> None:
    marker = tmp_path / "IMPORTED"
    write(tmp_path / "plugins" / "mine.py",
          f"open({str(marker)!r}, 'w').close()\n"
          "from cure4rec.methods.retrain import Retrain\n\n"
          "class Mine(Retrain):\n    pass\n")
    recipe = _with_method(tmp_path, "plugins/mine.py:Mine")
    snap = Snapshot(results)
    expect_error(cli(capsys, "run", recipe, "--results", results, "--dry-run"),
                 "mine.py:Mine", "--allow-code", snapshot=snap)
    assert not marker.exists()
    rc, out, err = cli(capsys, "run", recipe, "--results", results, "--dry-run", "--allow-code")
    assert rc == 0, err
    assert f"imports: {(tmp_path / 'plugins' / 'mine.py').resolve()}:Mine" in out
    assert marker.exists()  # imported only now, from the path relative to the recipe


# ---------------------------------------------------------------- names escaping --results
@pytest.mark.parametrize("name", ["../../x", "/tmp/abs-name", "..", "a b", "", "x/y", "-rf"])
def test_recipe_name_is_a_slug(capsys, results, tmp_path, name) -> None:
    recipe = write(tmp_path / "r.yaml", TINY.replace("name: tiny", f"name: '{name}'"))
    snap = Snapshot(tmp_path)
    expect_error(cli(capsys, "run", recipe, "--results", results, "--no-progress"),
                 "not a slug", snapshot=snap)
    assert not Path("/tmp/abs-name").exists()


# ---------------------------------------------------------------- YAML
def test_alias_bomb_is_refused_fast(capsys, results, tmp_path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 9):
        prev = chr(ord("a") + k - 1)
        levels.append(f"{chr(ord('a') + k)}: &{chr(ord('a') + k)} "
                      f"[*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, "
                      f"*{prev}, *{prev}]")
    recipe = write(tmp_path / "bomb.yaml", TINY + "\n".join(levels) + "\n")
    snap = Snapshot(results)
    t0 = time.perf_counter()
    expect_error(cli(capsys, "run", recipe, "--results", results, "--dry-run"),
                 "bomb.yaml", "aliases", snapshot=snap)
    assert time.perf_counter() - t0 < 10


def test_nested_aliases_under_the_alias_bound_still_bounded(capsys, tmp_path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 6):  # 5 levels x 10 aliases = 50 aliases, 10^6 expanded values
        p, c = chr(ord("a") + k - 1), chr(ord("a") + k)
        levels.append(f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]")
    recipe = write(tmp_path / "wide.yaml", TINY + "\n".join(levels) + "\n")
    expect_error(cli(capsys, "run", recipe, "--dry-run"), "wide.yaml", "expands to more than")


@pytest.mark.parametrize("text,key", [
    (TINY + "seeds: [1]\n", "'seeds'"),
    (TINY.replace("seeds: [0]", "seeds: [0]\nname: other"), "'name'"),
    (TINY.replace("{name: retrain}", "{name: retrain, name: sisa}"), "'name'"),
])
def test_duplicate_keys_are_errors(capsys, tmp_path, text, key) -> None:
    recipe = write(tmp_path / "dup.yaml", text)
    expect_error(cli(capsys, "run", recipe, "--dry-run"), "duplicate key", key)


def test_invalid_yaml_is_one_line(capsys, tmp_path) -> None:
    recipe = write(tmp_path / "bad.yaml", "name: x\nmodels: [\n  - oops: : :\n")
    expect_error(cli(capsys, "run", recipe, "--dry-run"), "bad.yaml", "not valid YAML")


# ---------------------------------------------------------------- sweeps
def test_million_cell_sweep_refused_before_expansion(capsys, results, tmp_path) -> None:
    seeds = list(range(1000))
    fractions = [round(0.01 + k * 0.0009, 5) for k in range(1000)]
    recipe = write(tmp_path / "huge.yaml", TINY.replace("seeds: [0]", f"seeds: {seeds}")
                   + f"forget: {{fraction: {fractions}}}\n")
    snap = Snapshot(results)
    t0 = time.perf_counter()
    expect_error(cli(capsys, "run", recipe, "--results", results, "--dry-run"),
                 "3000000 cells", "--max-cells", snapshot=snap)
    assert time.perf_counter() - t0 < 10


def test_max_cells_flag(capsys, tmp_path) -> None:
    recipe = write(tmp_path / "r.yaml", TINY)
    expect_error(cli(capsys, "run", recipe, "--dry-run", "--max-cells", "2"), "3 cells")
    rc, out, _ = cli(capsys, "run", recipe, "--dry-run", "--max-cells", "3")
    assert rc == 0 and "3 cells" in out


@pytest.mark.parametrize("extra", ["forget: {fraction: []}\n", "forget: {strategy: []}\n"])
def test_zero_cell_sweep_refused(capsys, tmp_path, extra) -> None:
    recipe = write(tmp_path / "r.yaml", TINY + extra)
    expect_error(cli(capsys, "run", recipe, "--dry-run"), "no cells")


# ---------------------------------------------------------------- typos caught by --dry-run
@pytest.mark.parametrize("old,new,needle", [
    ("seeds: [0]", "seeds: [0]\nforget: {strategy: randum}", "forget.strategy"),
    ("name: synthetic", "name: synthtic", "dataset.name"),
    ("mia: false", "mia: false, mia_topk_typo: 3", "mia_topk_typo"),
    ("{name: retrain}", "{name: retrian}", "methods[0].name"),
    ("name: bpr", "name: bprr", "models[0].name"),
    ("seeds: [0]", "seeds: [0]\nsplit: {protocol: 3}", "split.protocol"),
    ("seeds: [0]", "seeds: []", "at least one"),
    ("seeds: [0]", "seeds: [0]\nbase: [1, 2]", "base:"),
    ("seeds: [0]", "seeds: [0]\ndataset_typo: 1", "dataset_typo"),
    ("retrain_seeds: 3", "retrain_seeds: 2", "references.retrain_seeds 2"),
])
def test_dry_run_validates_everything(capsys, results, tmp_path, old, new, needle) -> None:
    recipe = write(tmp_path / "typo.yaml", TINY.replace(old, new))
    snap = Snapshot(results)
    expect_error(cli(capsys, "run", recipe, "--results", results, "--dry-run"), needle,
                 snapshot=snap)


def test_missing_dataset_files_caught_by_dry_run(capsys, tmp_path) -> None:
    recipe = write(tmp_path / "r.yaml", TINY.replace(
        "{name: synthetic, params: {n_users: 60, n_items: 40, n_interactions: 600}}",
        "{name: ml-100k, data_dir: nowhere}"))
    expect_error(cli(capsys, "run", recipe, "--dry-run"), "no data found", "--data-dir")


# ---------------------------------------------------------------- recipe files
def test_recipe_file_problems(capsys, tmp_path) -> None:
    (tmp_path / "folder.yaml").mkdir()
    expect_error(cli(capsys, "run", tmp_path / "folder.yaml", "--dry-run"), "is a directory")
    expect_error(cli(capsys, "run", tmp_path / "missing.yaml", "--dry-run"), "does not exist")
    latin = write(tmp_path / "latin.yaml", TINY.encode() + b"description: caf\xe9\n")
    expect_error(cli(capsys, "run", latin, "--dry-run"), "latin.yaml", "not UTF-8")
    listy = write(tmp_path / "list.yaml", "- a\n- b\n")
    expect_error(cli(capsys, "run", listy, "--dry-run"), "mapping at top level")
    big = write(tmp_path / "big.yaml", TINY + "#" * (2 << 20) + "\n")
    expect_error(cli(capsys, "run", big, "--dry-run"), "big.yaml", "limit")


def test_circular_base(capsys, tmp_path) -> None:
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    expect_error(cli(capsys, "run", tmp_path / "a.yaml", "--dry-run"), "circular base")


# ---------------------------------------------------------------- command-line values
@pytest.mark.parametrize("flags,needle", [
    (["--limit", "-1"], "--limit must be >= 0"),
    (["--executor", "process", "--workers", "0"], "--workers must be >= 1"),
    (["--executor", "ray", "--workers", "0"], "--workers must be >= 1"),
    (["--max-cells", "0"], "--max-cells must be >= 1"),
    (["--address", "127.0.0.1:6379"], "--address is for --executor ray"),
    (["--data-dir", "/nonexistent/folder"], "is not a folder"),
])
def test_bad_run_flags(capsys, results, tmp_path, flags, needle) -> None:
    recipe = write(tmp_path / "r.yaml", TINY)
    snap = Snapshot(results)
    expect_error(cli(capsys, "run", recipe, "--results", results, *flags), needle,
                 snapshot=snap)


def test_results_that_is_a_file(capsys, tmp_path) -> None:
    recipe = write(tmp_path / "r.yaml", TINY)
    f = write(tmp_path / "results.txt", "not a folder")
    snap = Snapshot(tmp_path)
    expect_error(cli(capsys, "run", recipe, "--results", f), "is a file", snapshot=snap)


# ---------------------------------------------------------------- forget: {manifest: DIR}
@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cure4rec.cli import main

    root = tmp_path_factory.mktemp("published")
    assert main(["split", "make", "--dataset", "synthetic", "--fraction", "0.05",
                 "--out", str(root / "split")]) == 0
    return root / "split"


def _manifest_recipe(tmp: Path, published: Path, forget: str, dataset: str = "synthetic"
                     ) -> Path:
    import shutil

    shutil.copytree(published, tmp / "split", dirs_exist_ok=True)
    text = TINY.replace("{name: synthetic, params: {n_users: 60, n_items: 40, "
                        "n_interactions: 600}}", f"{{name: {dataset}}}")
    return write(tmp / "pub.yaml", text + f"forget: {forget}\n")


def test_recipe_on_a_published_split(capsys, published, tmp_path) -> None:
    recipe = _manifest_recipe(tmp_path, published, "{manifest: split}")
    rc, out, err = cli(capsys, "run", recipe, "--results", tmp_path / "res", "--dry-run")
    assert rc == 0, err
    assert "synthetic core@0.05" in out and "3 cells" in out
    from cure4rec.runner.cells import expand_cells
    from cure4rec.runner.recipe import load_recipe

    sha = json.loads((tmp_path / "split" / "card.json").read_text())["sha256"]
    cells = expand_cells(load_recipe(recipe))
    assert {c.forget["manifest"] for c in cells} == {sha}
    assert all(c.manifest_dir == str((tmp_path / "split").resolve()) for c in cells)


@pytest.mark.parametrize("forget,dataset,needle", [
    ("{manifest: split, strategy: core}", "synthetic", "replaces forget.strategy"),
    ("{manifest: nowhere}", "synthetic", "no card.json"),
    ("{manifest: split}", "ml-100k", "made on dataset 'synthetic'"),
])
def test_bad_published_split(capsys, published, tmp_path, forget, dataset, needle) -> None:
    recipe = _manifest_recipe(tmp_path, published, forget, dataset)
    expect_error(cli(capsys, "run", recipe, "--dry-run"), "forget.manifest", needle)


def test_tampered_published_split(capsys, published, tmp_path) -> None:
    recipe = _manifest_recipe(tmp_path, published, "{manifest: split}")
    forget = tmp_path / "split" / "forget.csv"
    lines = forget.read_text().splitlines()
    forget.write_text("\n".join(lines[:-1]) + "\n")
    expect_error(cli(capsys, "run", recipe, "--dry-run"), "forget.manifest", "sha256 mismatch")
