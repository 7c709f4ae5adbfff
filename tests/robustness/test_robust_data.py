"""Hostile data files and split manifests: bad bytes, cut-off rows, emptied datasets,
truncated / key-less / list-shaped / non-numeric manifests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _robust import Snapshot, cli, expect_error, write

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
ROWS = "".join(f"u{u}\ti{i}\t4\t{1000000 + u * 10 + i}\n" for u in range(8) for i in range(8))


def _dir(tmp: Path, inter: bytes | str, user: bytes | str | None = None) -> Path:
    d = tmp / "toy"
    write(d / "toy.inter", inter)
    if user is not None:
        write(d / "toy.user", user)
    return d


def _info(capsys, d: Path) -> tuple[int, str, str]:
    return cli(capsys, "data", "info", d)


@pytest.mark.parametrize("inter,user,needle", [
    ((HEADER + ROWS.replace("u3\ti3", "u\xe93\ti3")).encode("latin-1"), None, "line 29"),
    (HEADER.replace("item_id", "item_\xefd").encode("latin-1") + ROWS.encode(), None, "line 1"),
    (HEADER + ROWS, b"user_id:token\tgender:token\nu1\t\xff\n", "toy.user, line 2"),
])
def test_non_utf8_bytes(capsys, tmp_path, inter, user, needle) -> None:
    d = _dir(tmp_path, inter, user)
    snap = Snapshot(tmp_path)
    line = expect_error(_info(capsys, d), needle, "not utf-8", snapshot=snap)
    assert "UTF-8" in line or "utf-8" in line


def test_non_utf8_data_through_a_recipe(capsys, tmp_path) -> None:
    from _robust import TINY

    _dir(tmp_path, (HEADER + ROWS).encode() + b"u9\ti\xff\t4\t1000099\n")
    recipe = write(tmp_path / "r.yaml", TINY.replace(
        "{name: synthetic, params: {n_users: 60, n_items: 40, n_interactions: 600}}",
        "{name: ./toy}"))
    expect_error(cli(capsys, "run", recipe, "--results", tmp_path / "res", "--no-progress"),
                 "toy.inter, line 66")
    assert not list((tmp_path / "res").rglob("*.json"))  # no record, not even a reference


def test_folder_where_a_data_file_is_expected(capsys, tmp_path) -> None:
    d = tmp_path / "toy"
    (d / "toy.inter").mkdir(parents=True)
    write(d / "toy.train.inter", HEADER + ROWS)
    (d / "toy.valid.inter").mkdir()
    write(d / "toy.test.inter", HEADER + ROWS)
    expect_error(_info(capsys, d), "toy.valid.inter", "is a folder")


def test_row_cut_off_mid_timestamp(capsys, tmp_path) -> None:
    d = _dir(tmp_path, HEADER + ROWS + "u9\ti1\t4\t10")
    expect_error(_info(capsys, d), "line 66", "cut off")


def test_short_final_row_with_newline_is_data(capsys, tmp_path) -> None:
    d = _dir(tmp_path, HEADER + ROWS + "u9\ti1\t4\t10\n")
    assert _info(capsys, d)[0] == 0


def test_k_core_that_empties_the_dataset(capsys, tmp_path) -> None:
    d = _dir(tmp_path, HEADER + ROWS)
    expect_error(cli(capsys, "data", "info", d, "--k-core", "50"), "left after preprocessing",
                 "k_core=50")


@pytest.mark.parametrize("inter,needle", [
    (HEADER + ROWS + "u1\ti1\t4\n", "expected 4 columns"),
    (HEADER + ROWS + "u1\ti1\tfour\t1\n", "is not a number"),
    ("user_id\titem_id\n" + ROWS, "bad atomic header"),
    ("", "file is empty"),
])
def test_malformed_rows(capsys, tmp_path, inter, needle) -> None:
    expect_error(_info(capsys, _dir(tmp_path, inter)), needle)


# ---------------------------------------------------------------- split manifests
@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cure4rec.cli import main

    out = tmp_path_factory.mktemp("manifest") / "m"
    assert main(["split", "make", "--dataset", "synthetic", "--fraction", "0.05",
                 "--out", str(out)]) == 0
    return out


def _copy(manifest: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(manifest, tmp / "m"))


@pytest.mark.parametrize("damage,needle", [
    (lambda m: (m / "card.json").write_text((m / "card.json").read_text()[:40]), "damaged"),
    (lambda m: (m / "card.json").write_text("[1, 2, 3]"), "damaged"),
    (lambda m: (m / "card.json").write_text(json.dumps(
        {k: v for k, v in json.loads((m / "card.json").read_text()).items()
         if k != "split_id"})), "split_id"),
    (lambda m: (m / "forget.csv").write_text("user,item\n1,abc\n"), "damaged"),
    (lambda m: (m / "retain.csv").write_text("user,item\n1,"), "damaged"),
    (lambda m: (m / "request.json").write_text("{}"), "damaged"),
    (lambda m: (m / "user_tokens.csv").write_bytes(b"\xff\xfe"), "damaged"),
])
def test_damaged_manifest(capsys, manifest, tmp_path, damage, needle) -> None:
    m = _copy(manifest, tmp_path)
    damage(m)
    snap = Snapshot(m)
    expect_error(cli(capsys, "split", "verify", m), str(m), needle, snapshot=snap)
    expect_error(cli(capsys, "split", "show", m), str(m), snapshot=snap)


def test_intact_manifest_verifies(capsys, manifest) -> None:
    rc, out, _ = cli(capsys, "split", "verify", manifest)
    assert rc == 0 and out.startswith("OK ")
