"""An outside method author and a new user at the CLI: check-method exit codes, wrong
constructors, `file.py:Class` paths, a fast `--help`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from _robust import cli, expect_error, write

ROOT = Path(__file__).resolve().parents[2]

NAN_METHOD = """
import dataclasses

from cure4rec.methods.retrain import Retrain


class _NaNModel:
    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def score(self, users):
        return self._model.score(users) * float("nan")


class NaNRetrain(Retrain):
    def _unlearn(self, state, request, ctx):
        out = super()._unlearn(state, request, ctx)
        return dataclasses.replace(out, model=_NaNModel(out.model))


class NoConfig(Retrain):
    def __init__(self):
        super().__init__("bpr", {})
"""


def test_broken_contract_exits_1_not_2(capsys, tmp_path) -> None:
    write(tmp_path / "mine.py", NAN_METHOD)
    rc, out, err = cli(capsys, "check-method", f"{tmp_path / 'mine.py'}:NaNRetrain",
                       "--model-config", '{"dim": 4, "epochs": 1}')
    assert rc == 1, (out, err)
    assert "FAIL" in out and "non-finite" in out and "Traceback" not in out + err


def test_wrong_constructor_is_one_line(capsys, tmp_path) -> None:
    write(tmp_path / "mine.py", NAN_METHOD)
    expect_error(cli(capsys, "check-method", f"{tmp_path / 'mine.py'}:NoConfig"),
                 "NoConfig", "(model, config)")


def test_check_method_bad_targets(capsys, tmp_path) -> None:
    write(tmp_path / "mine.py", NAN_METHOD)
    expect_error(cli(capsys, "check-method", f"{tmp_path / 'nope.py'}:X"), "no such file")
    expect_error(cli(capsys, "check-method", f"{tmp_path / 'mine.py'}:Missing"),
                 "defines no 'Missing'")
    expect_error(cli(capsys, "check-method", "retrain", "--config", "[1]"),
                 "--config must be a JSON object")
    expect_error(cli(capsys, "check-method", "nosuchmethod"), "unknown method")


def test_relative_file_path_in_registry(tmp_path, monkeypatch) -> None:
    """`file.py:Class` with a relative path no longer hits importlib's package error."""
    from cure4rec.methods.base import METHODS

    write(tmp_path / "pkg" / "mine.py", NAN_METHOD)
    monkeypatch.chdir(tmp_path)
    cls = METHODS.get("pkg/mine.py:NaNRetrain")
    assert cls.__name__ == "NaNRetrain"


def test_help_is_fast_and_imports_no_torch() -> None:
    code = ("import sys, io, contextlib\nfrom cure4rec.cli import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "print('usage' in buf.getvalue(), 'torch' in sys.modules, 'pandas' in sys.modules)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert out == ["True", "False", "False"]
    assert time.perf_counter() - t0 < 5  # ~0.15 s on a quiet machine (torch alone: ~2 s)
