"""Typed, frozen configs built from plain dicts; unknown keys and bad values are errors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from cure4rec.errors import ConfigError

C = TypeVar("C")


def config_from_dict(cls: type[C], values: dict[str, Any] | C | None, where: str = "") -> C:
    """Build the frozen dataclass `cls` from `values`, checking keys and value types.

    `where` names the place the values came from (recipe file and key path) for messages.
    """
    if values is None:
        return cls()
    if isinstance(values, cls):
        return values
    if not isinstance(values, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown key(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(sorted(fields))}")
    hints = get_type_hints(cls)
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in values.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        errors = []
        for arg in get_args(hint):
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{where}: {value!r} does not fit {hint}")
    if hint is Any:
        return value
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if origin is typing.Literal:
        if value in get_args(hint):
            return value
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, get_args(hint)))}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = get_args(hint)
        inner = args[0] if args else Any
        items = [_coerce(v, inner, f"{where}[{n}]") for n, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, where)  # type: ignore[arg-type]
    return value


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-JSON view of a config dataclass (tuples as lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=list))


def canonical_json(obj: Any) -> str:
    """Sorted-key, compact JSON: the input of every config hash."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(obj: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of `obj` (hex, truncated to `length`)."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]
