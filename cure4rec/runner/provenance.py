"""Provenance of a method cell: the method's card name and a fingerprint of its code.

Stored in a record's ``info["method_provenance"]``: ``card`` (the card's name, which the
leaderboard shows instead of an import path such as ``negft:NegFineTune``), ``module`` (the
class's module), ``sha256`` (of the module's source file) and, when that file is tracked
and unmodified in a git checkout, ``git_commit``. Two records with the same card but a
different ``sha256`` were produced by different code.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import subprocess
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=64)
def _git_commit(path: str) -> str | None:
    """HEAD of the git checkout holding `path`, if `path` is tracked and unmodified."""
    folder = str(Path(path).parent)
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", folder, *args], capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()

        git("ls-files", "--error-unmatch", path)
        if git("status", "--porcelain", "--", path):
            return None
        return git("rev-parse", "HEAD") or None
    except (OSError, subprocess.SubprocessError):
        return None


def method_provenance(method: Any) -> dict[str, Any]:
    """Card name, module and code fingerprint of an unlearning method instance."""
    cls = type(method)
    out: dict[str, Any] = {"card": method.card.name, "module": cls.__module__}
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        path = None
    if path:
        out["sha256"] = _file_sha256(path)
        commit = _git_commit(path)
        if commit:
            out["git_commit"] = commit
    return out
