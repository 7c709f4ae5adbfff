"""Optional dependencies in tests: skipped in a bare install, a failure where required.

CI installs every extra (`.[test,ray,plot]`) and sets `CURE4REC_REQUIRE_OPTIONAL=1`
(.ci/run), so a test whose optional dependency fails to import there fails loudly
instead of silently skipping (e.g. Ray broken by a missing `pkg_resources`).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

ENV = "CURE4REC_REQUIRE_OPTIONAL"


def required() -> bool:
    """Whether missing optional dependencies are failures (CI) rather than skips."""
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes")


def require(module: str) -> ModuleType:
    """Import `module`; skip the test if it cannot be imported, fail instead under $ENV."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # ImportError, or e.g. Ray's own import-time errors
        msg = f"optional dependency {module!r} does not import: {type(exc).__name__}: {exc}"
        if required():
            pytest.fail(f"{msg} ({ENV} is set: CI installs every extra)", pytrace=False)
        pytest.skip(msg)
