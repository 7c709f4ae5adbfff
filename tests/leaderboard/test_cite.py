"""Citation: `cure4rec split show DIR --cite` and every leaderboard section print the same
BibTeX-style entry naming the split id and sha256."""

from __future__ import annotations

from pathlib import Path

from cure4rec.leaderboard import build_leaderboard
from cure4rec.leaderboard.cite import bibtex, cite_key
from cure4rec.leaderboard.render_md import citation_lines
from tests.leaderboard._golden import fixture_records


def test_split_show_cite_prints_id_and_sha256(tmp_path: Path, capsys) -> None:
    from cure4rec.cli import main

    assert main(["split", "make", "--dataset", "synthetic", "--strategy", "core",
                 "--fraction", "0.05", "--out", str(tmp_path / "split"), "--json"]) == 0
    capsys.readouterr()
    assert main(["split", "show", str(tmp_path / "split"), "--cite"]) == 0
    out = capsys.readouterr().out
    from cure4rec.forget.manifest import ForgetSplit

    fs = ForgetSplit.load(tmp_path / "split")
    assert out.startswith(f"@misc{{{cite_key(fs.split_id)},\n")
    assert f"title = {{cure4rec forget split {fs.split_id}}}" in out
    assert f"note = {{split sha256 {fs.sha256}}}" in out
    assert out.rstrip().endswith("}") and out.count("{") == out.count("}")


def test_each_section_cites_each_of_its_splits() -> None:
    lb = build_leaderboard(fixture_records())
    for s in lb.sections:
        text = "\n".join(citation_lines(s, "0.1.0"))
        for sid, sha in s.splits:
            assert bibtex(sid, sha, dataset=f"{dict(s.dataset)['name']}@"
                          f"{dict(s.dataset)['version']}",
                          dataset_sha256=dict(s.dataset)["sha256"], version="0.1.0") in text
    assert cite_key("ml-100k@1/random-users-5pct/seed0") == \
        "cure4rec:ml-100k-1-random-users-5pct-seed0"
