"""Submission path: `leaderboard add` validates, copies and rebuilds; other protocols and
other metric sets are refused by `add` and by `build`; a valid outside submission keeps the
committed-leaderboard check green. Works on a temporary copy of docs/leaderboard only."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from cure4rec.config import config_hash
from cure4rec.errors import DataError
from cure4rec.leaderboard import build_leaderboard
from cure4rec.leaderboard.submit import add_records
from cure4rec.runner.records import find_records, load_records, write_record
from tests._optional import require
from tests.leaderboard._golden import ROOT

DOCS = ROOT / "docs" / "leaderboard"
pytestmark = pytest.mark.skipif(not (DOCS / "records").is_dir(), reason="no committed records")
OTHER = "outside-eval/1"  # an evaluation protocol that is not the committed records'


def _board(tmp_path: Path) -> Path:
    """A copy of the committed leaderboard (records + pages) to submit to."""
    dst = tmp_path / "board"
    shutil.copytree(DOCS, dst)
    return dst


def _outside(board: Path, *, protocol: str | None = None, lift: bool = False) -> list[dict]:
    """An outside method's records: the committed `retrain` method rows of BPR on the random
    split of ML-100K (3 seeds), re-labelled as `mylab.forget:Forget` (card `myforget`),
    utility lowered."""
    base = [r for r in load_records(find_records(board / "records"))
            if r["kind"] == "method" and r["cell"]["method"]["name"] == "retrain"
            and r["cell"]["dataset"]["name"] == "ml-100k"
            and r["cell"]["model"]["name"] == "bpr"
            and r["cell"]["forget"]["strategy"] == "random"]
    assert len(base) == 3
    out = []
    for r in base:
        r = copy.deepcopy(r)
        r["cell"]["method"] = {"name": "mylab.forget:Forget", "config": {"steps": 3}}
        r["method"] = {"name": "myforget", "config": {"steps": 3}}
        r["config_hash"] = config_hash(r["cell"])
        r["info"]["method_provenance"] = {"card": "myforget", "module": "mylab.forget",
                                          "sha256": "ab" * 32}
        r["metrics"] = {k: (v * 0.9 if v is not None and k.startswith("utility.") else v)
                        for k, v in r["metrics"].items()}
        if protocol is not None:
            r["info"]["evaluation_protocol"] = protocol
        if lift:  # an older metric version: the lift where the built-in rows have the ratio
            r["metrics"]["completeness.forgotten_rank_lift"] = r["metrics"].pop(
                "completeness.calibrated")
        out.append(r)
    return out


def _write(tmp_path: Path, recs: list[dict]) -> Path:
    folder = tmp_path / "submission"
    for r in recs:
        write_record(r, folder / "mylab" / "records")
    return folder


def _snapshot(board: Path) -> dict[str, bytes]:
    return {str(p.relative_to(board)): p.read_bytes() for p in sorted(board.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize(("kind", "message"), [
    ("protocol", f"evaluation protocol '{OTHER}' differs from the leaderboard's"),
    ("metric set", "mixes metric sets"),
    ("edited", "does not match its cell"),
    ("duplicate", "is already on the leaderboard"),
    ("split", "has sha256"),
])
def test_add_refuses_and_writes_nothing(tmp_path: Path, kind: str, message: str) -> None:
    board = _board(tmp_path)
    recs = _outside(board, protocol=OTHER if kind == "protocol" else None,
                    lift=kind == "metric set")
    if kind == "edited":
        recs[1]["cell"]["seed"] = 99
    if kind == "duplicate":
        recs = [r for r in load_records(find_records(board / "records"))][:2]
    if kind == "split":
        recs[0]["split"]["sha256"] = "f" * 64
    before = _snapshot(board)
    with pytest.raises(DataError, match=message) as err:
        add_records(_write(tmp_path, recs), board)
    assert "\n" not in str(err.value)
    assert _snapshot(board) == before  # nothing partial written


def test_build_refuses_mixed_metric_sets_and_groups_other_protocols(tmp_path: Path) -> None:
    board = _board(tmp_path)
    committed = load_records(find_records(board / "records"))
    with pytest.raises(DataError, match=r"mixes metric sets .*offending records: ") as err:
        build_leaderboard(committed + _outside(board, lift=True))
    assert all(r["config_hash"] in str(err.value) for r in _outside(board, lift=True))
    # another protocol never shares a section: it gets its own, the committed ones unchanged
    other = build_leaderboard(committed + _outside(board, protocol=OTHER))
    alone = build_leaderboard(committed)
    assert len(other.sections) == len(alone.sections) + 1
    new = [s for s in other.sections if s.protocol == OTHER]
    assert len(new) == 1 and {r.method for r in new[0].rows} == {"myforget(steps=3)"} or {
        r.method for r in new[0].rows} == {"myforget"}
    assert [s for s in other.sections if s.protocol != OTHER] == list(alone.sections)


def test_cli_add_refusal_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    from cure4rec.cli import main

    board = _board(tmp_path)
    sub = _write(tmp_path, _outside(board, protocol=OTHER))
    assert main(["leaderboard", "add", str(sub), "--to", str(board)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cure4rec leaderboard: error: ")


@pytest.mark.slow
def test_valid_outside_submission_keeps_committed_check_green(tmp_path: Path) -> None:
    from tests.leaderboard.test_leaderboard import assert_pages_current

    require("matplotlib")  # add_records re-renders the pages, plots included
    board = _board(tmp_path)
    recs = _outside(board)
    copied, pages = add_records(_write(tmp_path, recs), board)
    assert sorted(p.stem for p in copied) == sorted(r["config_hash"] for r in recs)
    assert {p.name for p in pages} == {"leaderboard.md", "leaderboard.csv", "leaderboard.html"}
    assert_pages_current(board)  # the committed-leaderboard test, on the updated copy
    md = (board / "leaderboard.md").read_text()
    assert "| myforget | 3/3 |" in md  # labelled by its card name, not the import path
    assert "mylab.forget:Forget" not in md
