"""Loader facade: `load_dataset(name_or_path)` and `split_dataset(ds, seed)`."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cure4rec.config import config_hash
from cure4rec.data.cards import DatasetCard, directory_card, load_card
from cure4rec.data.interactions import Interactions
from cure4rec.data.preprocess import PreprocessConfig, preprocess_rows
from cure4rec.data.readers import (
    RawData,
    read_amazon,
    read_atomic_dir,
    read_gowalla,
    read_ml1m,
    read_ml100k,
    read_table,
    read_train_test,
)
from cure4rec.data.split import (
    DatasetRef,
    DataSplit,
    presplit_with_valid,
    random_split,
    split_parts,
    temporal_split,
)
from cure4rec.data.synthetic import SyntheticConfig, generate
from cure4rec.errors import ConfigError, DataError

log = logging.getLogger(__name__)
_PRE_KEYS = {f.name for f in dataclasses.fields(PreprocessConfig)}
_SYN_KEYS = {f.name for f in dataclasses.fields(SyntheticConfig)}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A preprocessed dataset: interactions plus its card and content hash."""

    name: str
    version: str
    interactions: Interactions
    card: DatasetCard
    presplit: DataSplit | None = None
    sha256: str = ""
    #: per-row part label (0 train, 1 valid, 2 test) of a pre-split dataset, else None
    presplit_part: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", self.interactions.content_sha256())

    @property
    def ref(self) -> DatasetRef:
        """Name, version and content hash, as recorded in splits and run records."""
        return DatasetRef(self.name, self.version, self.sha256)


def data_home() -> Path:
    """Where downloads are cached: `$CURE4REC_DATA`, else `~/.cache/cure4rec`."""
    return Path(os.environ.get("CURE4REC_DATA") or Path.home() / ".cache" / "cure4rec")


def load_dataset(name_or_path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None
                 = None, cards_dir: str | os.PathLike[str] | None = None,
                 **overrides: Any) -> Dataset:
    """Load a dataset by card name (or a directory of atomic files) and preprocess it.

    `overrides` are preprocessing keys (`rating_threshold`, `k_core`, `dedup`) and, for
    `synthetic`, generator keys (`n_users`, `n_items`, `n_interactions`, `seed`, ...).
    """
    path = Path(name_or_path)
    if path.is_dir():
        card = directory_card(path)
        directory: Path | None = path
    else:
        card = load_card(str(name_or_path), cards_dir)
        directory = None
    allowed = _PRE_KEYS | (_SYN_KEYS if card.reader == "synthetic" else set())
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ConfigError(f"load_dataset({card.name!r}): unknown option(s) {', '.join(unknown)};"
                          f" allowed: {', '.join(sorted(allowed))}")
    pre_kw = {k: v for k, v in card.preprocessing.items() if k in _PRE_KEYS}
    pre_kw.update({k: v for k, v in overrides.items() if k in _PRE_KEYS})
    pre = PreprocessConfig(**pre_kw)
    version = card.version
    if card.reader == "synthetic":
        params = {**card.params, **{k: v for k, v in overrides.items() if k in _SYN_KEYS}}
        raw = generate(SyntheticConfig(**params))
        if params != card.params:
            version = f"{card.version}+{config_hash(params, 8)}"
    else:
        raw = read_raw(card, directory or find_data(card, data_dir))
    if pre != PreprocessConfig(**{k: v for k, v in card.preprocessing.items() if k in _PRE_KEYS}):
        version = f"{version}+pre{config_hash(dataclasses.asdict(pre), 8)}"
    inter, rows = preprocess_rows(raw, pre, card.name)
    if len(inter) == 0 or inter.n_users < 2 or inter.n_items < 2:
        raise DataError(f"dataset {card.name!r}: {len(inter)} interactions ({inter.n_users} "
                        f"users, {inter.n_items} items) left after preprocessing (k_core "
                        f"{pre.k_core}, rating_threshold {pre.rating_threshold}); lower k_core "
                        "or the rating threshold, or use more data")
    if card.reader == "train-test" and version == card.version:  # a paper's fixed files;
        _check_stats(card, inter)                                 # overrides change them
    ref = DatasetRef(card.name, version, inter.content_sha256())
    presplit = part = None
    if raw.part is not None:
        part = raw.part[rows]
        presplit = split_parts(inter, part, ref, {"protocol": "presplit", "seed": None})
    return Dataset(card.name, version, inter, card, presplit, presplit_part=part)


def find_data(card: DatasetCard, data_dir: str | os.PathLike[str] | None) -> Path:
    """The directory holding `card`'s files: under `data_dir`, else in the data home cache."""
    roots = [Path(data_dir)] if data_dir is not None else [data_home() / card.name / card.version]
    for root in roots:
        for cand in (root / card.atomic_name, root / card.name, root):
            if _has_atomic(cand, card.atomic_name) or _has_raw(cand, card):
                return cand
    where = ", ".join(str(r) for r in roots)
    if card.reader == "train-test":
        raise DataError(f"dataset {card.name!r}: no data found under {where} (expected "
                        f"{list(card.files.values())}); these are a paper's shipped files, not "
                        f"a download: its card (cure4rec/data/cards/{card.name}.yaml) names the "
                        "source; put them in a folder and pass --data-dir (run: or "
                        "dataset.data_dir)")
    raise DataError(f"dataset {card.name!r}: no data found under {where} (expected "
                    f"{card.atomic_name}.inter or the raw files {list(card.files.values())}); "
                    f"run `cure4rec data fetch {card.name}`, or pass --data-dir (run: or set "
                    "dataset.data_dir in the recipe)")


def _has_atomic(d: Path, name: str) -> bool:
    return (d / f"{name}.inter").is_file() or (d / f"{name}.train.inter").is_file()


def _raw_file(d: Path, card: DatasetCard, role: str) -> Path | None:
    rel = card.files.get(role)
    if rel is None:
        return None
    for cand in (d / rel, d / Path(rel).name):
        if cand.is_file():
            return cand
    return d / rel


def _has_raw(d: Path, card: DatasetCard) -> bool:
    f = _raw_file(d, card, "train" if card.reader == "train-test" else "ratings")
    return f is not None and f.is_file()


def read_raw(card: DatasetCard, d: Path) -> RawData:
    """Read `card`'s data from directory `d` (atomic files first, else the card's reader;
    a `train-test` card always reads its shipped split files, which define its split)."""
    if card.reader == "train-test":
        for role in ("train", "test"):
            f = _raw_file(d, card, role)
            if f is None or not f.is_file():
                raise DataError(f"dataset {card.name!r}: {role} file {card.files.get(role)!r} "
                                f"not found in {d}; the card's `files` must name the shipped "
                                "train and test files")
            _check_sha256(card, role, f)
        return read_train_test(_raw_file(d, card, "train"),  # type: ignore[arg-type]
                               _raw_file(d, card, "test"))  # type: ignore[arg-type]
    if _has_atomic(d, card.atomic_name):
        return read_atomic_dir(d, card.atomic_name)
    ratings = _raw_file(d, card, "ratings")
    if ratings is None:
        raise DataError(f"dataset {card.name!r}: no {card.atomic_name}.inter in {d}")
    if card.reader == "movielens-100k":
        return read_ml100k(ratings, _raw_file(d, card, "users"), _raw_file(d, card, "items"))
    if card.reader == "movielens-1m":
        return read_ml1m(ratings, _raw_file(d, card, "users"))
    if card.reader == "amazon-ratings":
        return read_amazon(ratings)
    if card.reader == "gowalla":
        return read_gowalla(ratings)
    if card.reader == "csv":
        return read_table(ratings, card.columns)
    raise DataError(f"dataset {card.name!r}: reader {card.reader!r} cannot read {d}")


def _check_sha256(card: DatasetCard, role: str, path: Path) -> None:
    """The card's sha256 of a shipped file (matched by file name), if it lists one."""
    from cure4rec.data.fetch import sha256_file

    want = {Path(s.filename).name: s.sha256 for s in card.sources if s.filename and s.sha256}
    expected = want.get(path.name)
    if expected is None:
        return
    got = sha256_file(path)
    if got != expected:
        raise DataError(f"{path}: sha256 {got} is not the {expected} of dataset card "
                        f"{card.name!r} ({role} file); the file differs from the one the card "
                        "describes: get it again from the source the card names")


def _check_stats(card: DatasetCard, inter: Interactions) -> None:
    got = {"users": inter.n_users, "items": inter.n_items, "interactions": len(inter)}
    bad = {k: (v, got[k]) for k, v in card.expected_stats.items() if k in got and got[k] != v}
    if bad:
        what = ", ".join(f"{k} {g} (card: {w})" for k, (w, g) in sorted(bad.items()))
        raise DataError(f"dataset {card.name!r}: after preprocessing {what}; the files are not "
                        "the ones the card describes")


def split_dataset(ds: Dataset, seed: int = 0, protocol: str | None = None,
                  ratios: tuple[float, float, float] | None = None) -> DataSplit:
    """Split `ds` (protocol default: the card's; pre-split datasets keep their files' split)."""
    default = dict(ds.card.preprocessing.get("split") or {})
    protocol = protocol or default.get("protocol", "random")
    if protocol == "presplit" or (ds.presplit is not None and protocol == default.get("protocol")):
        if ds.presplit is None:
            raise ConfigError(f"dataset {ds.name!r} has no pre-made split; use random/temporal")
        share = float(default.get("valid_ratio") or 0.0)
        if share > 0 and len(ds.presplit.valid) == 0 and ds.presplit_part is not None:
            return presplit_with_valid(ds.interactions, ds.presplit_part, ds.ref, share, seed)
        return ds.presplit
    if protocol == "random":
        r = ratios or tuple(default.get("ratios", (0.8, 0.1, 0.1)))
        return random_split(ds.interactions, ds.ref, seed, r)  # type: ignore[arg-type]
    if protocol == "temporal":
        return temporal_split(ds.interactions, ds.ref)
    raise ConfigError(f"unknown split protocol {protocol!r}; known: random, temporal, presplit")
