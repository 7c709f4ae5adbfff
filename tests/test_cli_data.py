"""CLI: `data` and `split` commands; user errors print one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cure4rec.cli import main

SHARED = (Path(__file__).resolve().parents[1] / "../shared/datasets").resolve()
realdata = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets not present")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc: int, err: str, text: str) -> None:
    assert rc == 2 and text in err and len(err.strip().splitlines()) == 1


@pytest.mark.realdata
@realdata
def test_data_info_ml100k(capsys) -> None:
    rc, out, _ = run(capsys, "data", "info", "ml-100k", "--data-dir", str(SHARED), "--json")
    info = json.loads(out)
    assert rc == 0 and (info["users"], info["items"], info["interactions"]) == (943, 1349, 99287)


def test_data_list(capsys) -> None:
    rc, out, _ = run(capsys, "data", "list", "--json")
    assert rc == 0 and {"ml-100k", "synthetic", "adm"} <= {d["name"] for d in json.loads(out)}


def test_split_make_verify_show(capsys, tmp_path: Path) -> None:
    rc, out, _ = run(capsys, "split", "make", "--dataset", "synthetic", "--strategy", "edge",
                     "--fraction", "0.05", "--json")
    card = json.loads(out)
    assert rc == 0 and card["split_id"] == "synthetic@1/edge-users-5pct/seed0"
    rc, out, _ = run(capsys, "split", "make", "--strategy", "edge", "--fraction", "0.05",
                     "--out", str(tmp_path / "m"))
    assert rc == 0 and card["sha256"] in out
    rc, out, _ = run(capsys, "split", "verify", str(tmp_path / "m"))
    assert rc == 0 and out.startswith("OK synthetic@1/edge-users-5pct/seed0")
    rc, out, _ = run(capsys, "split", "show", str(tmp_path / "m"), "--json")
    assert rc == 0 and json.loads(out)["sha256"] == card["sha256"]


@pytest.mark.parametrize("argv,text", [
    (["data", "info", "ml-10k"], "unknown dataset 'ml-10k'; known:"),
    (["split", "make", "--fraction", "1.5"], "fraction must be in (0, 1)"),
    (["split", "make", "--fraction", "0"], "fraction must be in (0, 1)"),
    (["split", "make", "--strategy", "core-matched", "--fraction", "0.1",
      "--target-interactions", "100000000"], "would forget all"),
    (["split", "verify", "/nonexistent/dir"], "no card.json"),
])
def test_user_errors(capsys, argv, text) -> None:
    rc, _, err = run(capsys, *argv)
    one_line_error(rc, err, text)


def test_bad_files_via_cli(capsys, tmp_path: Path) -> None:
    d = tmp_path / "toy"
    d.mkdir()
    (d / "toy.inter").write_text("")
    one_line_error(*run(capsys, "data", "info", str(d))[::2], "toy.inter: file is empty")
    (d / "toy.inter").write_text("user_id:token\titem_id:token\trating:float\n1\t2\n")
    one_line_error(*run(capsys, "data", "info", str(d))[::2], "line 2: expected 3 columns")
    (d / "toy.inter").write_text("user_id:token\titem_id:token\trating:float\n1\t2\tbad\n")
    one_line_error(*run(capsys, "data", "info", str(d))[::2], "'bad' is not a number")
    one_line_error(*run(capsys, "data", "info", "ml-1m", "--data-dir", str(tmp_path))[::2],
                   "no data found")


def test_tampered_manifest_cli(capsys, tmp_path: Path) -> None:
    assert main(["split", "make", "--fraction", "0.1", "--out", str(tmp_path / "m")]) == 0
    (tmp_path / "m" / "retain.csv").write_text("user,item\n0,0\n")
    capsys.readouterr()
    one_line_error(*run(capsys, "split", "verify", str(tmp_path / "m"))[::2], "sha256 mismatch")
