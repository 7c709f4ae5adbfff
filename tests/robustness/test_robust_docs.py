"""Docs that a new user copies: the end-to-end Python example runs, and the documented
split sha256 is the one `split make` produces."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT / "../shared/datasets").resolve()


def test_user_guide_shows_the_example_verbatim() -> None:
    guide = (ROOT / "docs" / "user_guide.md").read_text()
    block = guide.split("## Python API, end to end", 1)[1].split("```python\n", 1)[1]
    block = block.split("```", 1)[0]
    example = (ROOT / "examples" / "end_to_end.py").read_text().split('"""\n\n', 1)[1]
    assert block == example


@pytest.mark.slow
def test_end_to_end_example_runs(capsys) -> None:
    g = runpy.run_path(str(ROOT / "examples" / "end_to_end.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "utility.ndcg@20" in out and g["fs"].sha256[:12] in out
    assert 0 <= g["res"].metrics["utility.ndcg@20"] <= 1
    assert len(g["refs"]) == 4
    assert g["res"].metrics["completeness.calibrated.verdict"] in (-1.0, 0.0, 1.0)


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets not present")
def test_documented_split_sha256(capsys) -> None:
    from cure4rec.cli import main

    text = (ROOT / "docs" / "datasets.md").read_text()
    prefix = re.search(r"`ml-100k@1/core-users-5pct/seed0` \+ `([0-9a-f]{8})…`", text)
    assert prefix, "docs/datasets.md lost the documented split id"
    assert main(["split", "make", "--dataset", "ml-100k", "--data-dir", str(SHARED),
                 "--strategy", "core", "--fraction", "0.05", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert out.split("sha256 ", 1)[1].startswith(prefix.group(1)), out
