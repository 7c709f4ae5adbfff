"""Helpers of the robustness suite: hostile inputs against the CLI, in-process.

Every case asserts the same five things (`expect_error`): the exit status, a single line
on stderr naming what was wrong, no traceback, nothing partial left behind and the earlier
results untouched (`Snapshot`: every file under the watched folders, byte for byte).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from cure4rec.cli import main

TINY = """name: tiny
dataset: {name: synthetic, params: {n_users: 60, n_items: 40, n_interactions: 600}}
models: [{name: bpr, config: {dim: 4, epochs: 1, batch_size: 512}}]
methods: [{name: retrain}]
seeds: [0]
references: {retrain_seeds: 3}
evaluator: {mia: false, unlearning_mia: false, mio: false, bootstrap: 0, difficulty: null,
            mia_user_level: false}
"""


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run `cure4rec argv` in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


class Snapshot:
    """Every file (path -> sha256) under some folders, to prove nothing changed."""

    def __init__(self, *roots: Path) -> None:
        self.roots = [Path(r) for r in roots]
        self.before = self.take()

    def take(self) -> dict[str, str]:
        out = {}
        for root in self.roots:
            if root.is_file():
                out[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
                continue
            for dirpath, _, files in os.walk(root):
                for f in files:
                    p = Path(dirpath) / f
                    if p.name == ".lock":  # the results lock file (empty when unheld)
                        continue
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out

    def assert_unchanged(self) -> None:
        after = self.take()
        added = sorted(set(after) - set(self.before))
        removed = sorted(set(self.before) - set(after))
        changed = sorted(k for k in self.before if k in after and after[k] != self.before[k])
        assert not (added or removed or changed), (added, removed, changed)


def expect_error(result: tuple[int, str, str], *needles: str, code: int = 2,
                 snapshot: Snapshot | None = None) -> str:
    """Assert a one-line, traceback-free error naming `needles`; return the line."""
    rc, out, err = result
    assert rc == code, (rc, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Traceback" not in out, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    if snapshot is not None:
        snapshot.assert_unchanged()
    return lines[0]


def no_temp_files(*roots: Path) -> None:
    """No `.tmp-*` (or other temporary) file or folder is left under `roots`."""
    left = [p for r in roots if Path(r).exists() for p in Path(r).rglob("*")
            if ".tmp-" in p.name or p.name.endswith(".tmp")]
    assert not left, left


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def records_of(results: Path) -> Iterable[Path]:
    return sorted((results / "tiny" / "records").glob("*.json"))
