"""Preprocessing: rating threshold, deduplication, iterative k-core, id remapping."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cure4rec.data.interactions import Interactions
from cure4rec.data.readers import RawData
from cure4rec.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreprocessConfig:
    """`rating_threshold` None keeps every rating as a positive; `k_core` 0 disables the filter."""

    rating_threshold: float | None = None
    k_core: int = 5
    dedup: bool = True

    def __post_init__(self) -> None:
        if self.k_core < 0:
            raise ConfigError(f"k_core must be >= 0, got {self.k_core}")


def token_order(tokens: np.ndarray) -> np.ndarray:
    """Sort order of tokens: numeric when every token is an integer, else lexicographic."""
    as_num = pd.to_numeric(pd.Series(tokens, dtype=object), errors="coerce")
    if not as_num.isna().any():
        return np.argsort(as_num.to_numpy(), kind="stable")
    return np.argsort(tokens.astype(str), kind="stable")


def k_core_mask(user: np.ndarray, item: np.ndarray, k: int) -> np.ndarray:
    """Rows kept by the iterative k-core filter on users and items (unique maximal core)."""
    keep = np.ones(len(user), dtype=bool)
    if k <= 1:
        return keep
    n_u, n_i = int(user.max()) + 1, int(item.max()) + 1
    while True:
        ud = np.bincount(user[keep], minlength=n_u)
        idg = np.bincount(item[keep], minlength=n_i)
        new = keep & (ud[user] >= k) & (idg[item] >= k)
        if new.sum() == keep.sum():
            return keep
        keep = new


def dedup_mask(user: np.ndarray, item: np.ndarray, timestamp: np.ndarray | None) -> np.ndarray:
    """Keep one row per user-item pair: the earliest timestamp (ties: first row)."""
    key = user.astype(np.int64) * (int(item.max()) + 1) + item
    order = np.lexsort((timestamp, key)) if timestamp is not None else np.argsort(key,
                                                                                   kind="stable")
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = np.zeros(len(key), dtype=bool)
    keep[order[first]] = True
    return keep


def preprocess_rows(raw: RawData, cfg: PreprocessConfig, name: str = ""
                    ) -> tuple[Interactions, np.ndarray]:
    """Preprocessed interactions and the raw row index of each kept row."""
    df = raw.inter
    if len(df) == 0:
        raise DataError(f"{name or 'dataset'}: no interactions to preprocess")
    keep = np.ones(len(df), dtype=bool)
    if cfg.rating_threshold is not None:
        if "rating" not in df.columns:
            raise ConfigError(f"{name}: rating_threshold set but the data has no rating column")
        keep &= df["rating"].to_numpy() >= cfg.rating_threshold
    ucode, utok = pd.factorize(df["user"].to_numpy())
    icode, itok = pd.factorize(df["item"].to_numpy())
    ts = df["timestamp"].to_numpy(np.float64) if "timestamp" in df.columns else None
    if cfg.dedup:
        keep &= dedup_mask(ucode, icode, ts)
    rows = np.flatnonzero(keep)
    keep_core = k_core_mask(ucode[rows], icode[rows], cfg.k_core)
    rows = rows[keep_core]
    if len(rows) == 0:
        raise DataError(f"{name}: no interactions left after preprocessing ({cfg})")
    log.info("%s: %d of %d rows kept after threshold/dedup/%d-core", name, len(rows), len(df),
             cfg.k_core)
    user, u_tokens = _remap(ucode[rows], np.asarray(utok, dtype=object))
    item, i_tokens = _remap(icode[rows], np.asarray(itok, dtype=object))
    inter = Interactions(
        user, item, len(u_tokens), len(i_tokens),
        rating=df["rating"].to_numpy()[rows] if "rating" in df.columns else None,
        timestamp=ts[rows] if ts is not None else None,
        user_tokens=u_tokens, item_tokens=i_tokens,
        user_attributes=_attributes(raw.users, u_tokens),
        item_attributes=_attributes(raw.items, i_tokens), name=name)
    canon = np.lexsort((inter.item, inter.user))
    return inter.subset(canon), rows[canon]


def preprocess(raw: RawData, cfg: PreprocessConfig | None = None, name: str = "") -> Interactions:
    """Binarise (threshold), deduplicate, k-core filter and remap a raw table."""
    return preprocess_rows(raw, cfg or PreprocessConfig(), name)[0]


def _remap(codes: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used = np.unique(codes)
    used_tokens = tokens[used]
    order = token_order(used_tokens)
    new_of_code = np.full(len(tokens), -1, dtype=np.int64)
    new_of_code[used[order]] = np.arange(len(used))
    return new_of_code[codes], used_tokens[order]


def _attributes(table: pd.DataFrame | None, tokens: np.ndarray) -> pd.DataFrame | None:
    if table is None or table.empty:
        return None
    out = table.reindex(pd.Index(tokens.astype(str))).astype("string")
    return out.reset_index(drop=True)
