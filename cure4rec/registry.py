"""Name -> class registries filled by decorators; third-party code by entry point or path."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from cure4rec.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A registry that refuses duplicate names and resolves `module:Class` paths.

    `entry_point_group` names the `importlib.metadata` group scanned (lazily, once) for
    third-party plug-ins, so that adding a model or method never means editing a central list.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._plugins_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator registering `obj` under `name`."""

        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return deco

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self.entry_point_group is None:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._items:
                self._items[ep.name] = ep.load()

    def get(self, name: str) -> T:
        """Return the object registered as `name`, or imported from a `module:Class` path."""
        if ":" in name:
            return _import_path(name, self.kind)  # type: ignore[return-value]
        self._ensure_builtins()
        if name not in self._items:
            self._load_plugins()
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known} "
                                   f"(or give a 'module:Class' path)")
        return self._items[name]

    def names(self) -> list[str]:
        """Sorted registered names (built-ins and entry-point plug-ins)."""
        self._ensure_builtins()
        self._load_plugins()
        return sorted(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    # Built-in classes register themselves when their module is imported: every module of
    # `builtin_package` is imported on first lookup (lazily, to avoid import cycles).
    builtin_package: str | None = None
    _builtins_loaded: bool = False

    def _ensure_builtins(self) -> None:
        if self._builtins_loaded or self.builtin_package is None:
            return
        self._builtins_loaded = True
        pkg = importlib.import_module(self.builtin_package)
        for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{self.builtin_package}."):
            if not info.name.rsplit(".", 1)[-1].startswith("_"):
                importlib.import_module(info.name)


def load_file_attr(path: str, kind: str = "object") -> object:
    """`Class` from `path/to/file.py:Class` (the file is run as a module, once per path)."""
    import hashlib
    import importlib.util
    import sys
    from pathlib import Path

    file, _, attr = path.rpartition(":")
    f = Path(file).expanduser().resolve()
    if not f.is_file():
        raise UnknownNameError(f"cannot import {kind} {path!r}: no such file {file!r}")
    name = f"_cure4rec_file_{f.stem}_{hashlib.sha256(str(f).encode()).hexdigest()[:8]}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, f)
        if spec is None or spec.loader is None:
            raise UnknownNameError(f"cannot import {kind} {path!r}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    if not attr or not hasattr(module, attr):
        raise UnknownNameError(f"cannot import {kind} {path!r}: {file} defines no {attr!r}")
    return getattr(module, attr)


def _import_path(path: str, kind: str) -> object:
    if path.rpartition(":")[0].endswith(".py"):
        return load_file_attr(path, kind)
    module, _, attr = path.partition(":")
    try:
        obj: object = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise UnknownNameError(f"cannot import {kind} {path!r}: {exc}") from exc
    return obj
