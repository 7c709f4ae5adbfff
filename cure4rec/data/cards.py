"""Dataset cards: one YAML file per dataset version (source, sha256, licence, preprocessing)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cure4rec.errors import ConfigError, DataError, UnknownNameError

CARDS_DIR = Path(__file__).resolve().parent / "cards"
READERS = ("atomic", "movielens-100k", "movielens-1m", "amazon-ratings", "gowalla", "csv",
           "synthetic", "train-test")
_KEYS = {"name", "version", "title", "description", "reader", "sources", "files", "atomic_name",
         "presplit", "licence", "citation", "preprocessing", "params", "expected_stats",
         "columns"}


@dataclass(frozen=True)
class Source:
    """One downloadable file: where it comes from and its expected sha256 (None: unknown)."""

    url: str
    filename: str | None = None
    sha256: str | None = None
    extract: bool = False


@dataclass(frozen=True)
class DatasetCard:
    """The metadata of one dataset version."""

    name: str
    version: str
    reader: str
    title: str = ""
    description: str = ""
    sources: tuple[Source, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    atomic_name: str = ""
    presplit: bool = False
    licence: str = ""
    citation: str = ""
    preprocessing: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    expected_stats: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    @property
    def ref(self) -> str:
        """`name@version`, the prefix of every split id."""
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view (for `data info --json` and manifests)."""
        return {"name": self.name, "version": self.version, "title": self.title,
                "reader": self.reader, "licence": self.licence, "citation": self.citation,
                "sources": [vars(s) for s in self.sources], "files": dict(self.files),
                "presplit": self.presplit, "preprocessing": dict(self.preprocessing),
                "params": dict(self.params)}


def cards_dirs(extra: str | os.PathLike[str] | None = None) -> list[Path]:
    """Directories searched for cards: `extra`, `$CURE4REC_CARDS`, then the packaged ones."""
    dirs = [Path(extra)] if extra else []
    if os.environ.get("CURE4REC_CARDS"):
        dirs.append(Path(os.environ["CURE4REC_CARDS"]))
    return [*dirs, CARDS_DIR]


def list_cards(cards_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Sorted names of every known dataset card."""
    names = {p.stem for d in cards_dirs(cards_dir) if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names)


def load_card(name: str, cards_dir: str | os.PathLike[str] | None = None) -> DatasetCard:
    """The card called `name` (first found in `cards_dirs(cards_dir)`)."""
    for d in cards_dirs(cards_dir):
        path = d / f"{name}.yaml"
        if path.is_file():
            return parse_card(path)
    raise UnknownNameError(f"unknown dataset {name!r}; known: {', '.join(list_cards(cards_dir))} "
                           "(or give a directory of RecBole atomic files)")


def parse_card(path: Path) -> DatasetCard:
    """Read and validate one card file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read dataset card: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a dataset card must be a mapping")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join(sorted(_KEYS))}")
    for key in ("name", "version", "reader"):
        if not raw.get(key):
            raise ConfigError(f"{path}: missing required key {key!r}")
    if raw["reader"] not in READERS:
        raise ConfigError(f"{path}: reader {raw['reader']!r} is not one of {', '.join(READERS)}")
    try:
        sources = tuple(Source(**s) for s in raw.get("sources") or ())
    except TypeError as exc:
        raise ConfigError(f"{path}: bad entry in 'sources': {exc}") from exc
    for k, src in enumerate(sources):
        if src.sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", str(src.sha256)):
            raise ConfigError(f"{path}: sources[{k}].sha256 must be 64 hex digits in quotes "
                              f"or null, got {src.sha256!r}")
    return DatasetCard(
        name=str(raw["name"]), version=str(raw["version"]), reader=raw["reader"],
        title=raw.get("title") or "", description=raw.get("description") or "",
        sources=sources, files=dict(raw.get("files") or {}),
        atomic_name=raw.get("atomic_name") or str(raw["name"]),
        presplit=bool(raw.get("presplit", False)), licence=raw.get("licence") or "",
        citation=raw.get("citation") or "", preprocessing=dict(raw.get("preprocessing") or {}),
        params=dict(raw.get("params") or {}), expected_stats=dict(raw.get("expected_stats") or {}),
        columns=dict(raw.get("columns") or {}), path=path)


def directory_card(path: Path) -> DatasetCard:
    """An ad-hoc card for a directory of RecBole atomic files (name = directory name)."""
    presplit = any(path.glob("*.train.inter"))
    return DatasetCard(name=path.name, version="local", reader="atomic", atomic_name=path.name,
                       presplit=presplit, path=None,
                       preprocessing={"rating_threshold": None, "k_core": 0 if presplit else 5})
