"""`cure4rec check-method`: run the conformance kit on a method, print pass/fail per check."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from cure4rec.errors import ConfigError


def register(sub: Any) -> None:
    """Add the `check-method` sub-command."""
    p = sub.add_parser("check-method", help="run the method conformance kit on a toy dataset")
    p.add_argument("method", help="registered name, module:Class, or path/to/file.py:Class")
    p.add_argument("--model", default="bpr", help="model name or module:Class (default: bpr)")
    p.add_argument("--config", default="{}", help="method config as JSON")
    p.add_argument("--model-config", default="{}", help="model config as JSON")
    p.set_defaults(func=run)


def resolve(target: str) -> Any:
    """A method name / `module:Class` string, or the class loaded from `file.py:Class`."""
    path, _, attr = target.rpartition(":")
    if not path.endswith(".py"):
        return target
    if not Path(path).is_file():
        raise ConfigError(f"no such file {path!r}")
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    if not hasattr(module, attr):
        raise ConfigError(f"{path} defines no {attr!r}")
    return getattr(module, attr)


def run(args: argparse.Namespace) -> int:
    """Print one line per check; exit 1 if any failed."""
    from cure4rec.methods.base import METHODS
    from cure4rec.testing.conformance import run_checks

    try:
        config, model_config = json.loads(args.config), json.loads(args.model_config)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--config / --model-config is not valid JSON: {exc}") from exc
    method = resolve(args.method)
    if isinstance(method, str):
        method = METHODS.get(method)
    from cure4rec.models.base import ModelSpec

    results = run_checks(method, ModelSpec(args.model, model_config), config)
    for r in results:
        print(f"{'PASS' if r.ok else 'FAIL'}  {r.name:26s} {r.message}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed}/{len(results)} checks passed")
    return 1 if failed else 0
