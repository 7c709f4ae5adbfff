"""`cure4rec check-method`: run the conformance kit on a method, print pass/fail per check."""

from __future__ import annotations

import argparse
import inspect
import json
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
    from cure4rec.registry import load_file_attr

    path, _, _ = target.rpartition(":")
    if not path.endswith(".py"):
        return target
    return load_file_attr(target, "method")


def _check_constructor(cls: Any, target: str) -> None:
    """The kit builds `cls(model, config)`; say so at once if the class cannot be built so."""
    if not isinstance(cls, type):
        raise ConfigError(f"{target} is not a class (got {type(cls).__name__})")
    try:
        inspect.signature(cls).bind("bpr", {})
    except TypeError as exc:
        raise ConfigError(f"{target}: the constructor must accept (model, config), as "
                          f"UnlearningMethod's does; {cls.__name__}{inspect.signature(cls)}: "
                          f"{exc}") from exc
    except ValueError:
        pass  # no signature to inspect (builtin); the kit will tell


def run(args: argparse.Namespace) -> int:
    """Print one line per check; exit 1 if any failed, 2 for bad input."""
    from cure4rec.errors import MethodContractError
    from cure4rec.methods.base import METHODS
    from cure4rec.models.base import ModelSpec
    from cure4rec.testing.conformance import run_checks

    try:
        config, model_config = json.loads(args.config), json.loads(args.model_config)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--config / --model-config is not valid JSON: {exc}") from exc
    for flag, value in (("--config", config), ("--model-config", model_config)):
        if not isinstance(value, dict):
            raise ConfigError(f"{flag} must be a JSON object, got {value!r}")
    method = resolve(args.method)
    if isinstance(method, str):
        method = METHODS.get(method)
    _check_constructor(method, args.method)
    spec = ModelSpec(args.model, model_config)
    spec.build()  # model name and config (RecBole params allow-list included) checked now
    try:
        results = run_checks(method, spec, config)
    except MethodContractError as exc:
        print(f"FAIL  {'contract':26s} {' '.join(str(exc).split())}")
        print("0 checks passed: the method broke the protocol")
        return 1
    for r in results:
        print(f"{'PASS' if r.ok else 'FAIL'}  {r.name:26s} {r.message}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed}/{len(results)} checks passed")
    return 1 if failed else 0
