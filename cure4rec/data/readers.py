"""Readers: RecBole atomic files, MovieLens raw, Amazon ratings CSV, generic CSV/TSV, and
a paper's shipped train/test files (`read_train_test`).

Every reader returns a `RawData`: string user/item tokens plus optional float rating and
timestamp, and optional user/item attribute tables. Column counts are checked for the whole
file with numpy before parsing, so errors name the exact line.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cure4rec.errors import DataError

NUMERIC_TYPES = ("float", "int")


@dataclass(frozen=True, eq=False)
class RawData:
    """An un-preprocessed interaction table (+ attributes, + pre-split part labels)."""

    inter: pd.DataFrame  # columns user, item (str) [, rating, timestamp (float)]
    users: pd.DataFrame | None = None  # index: user token; string columns
    items: pd.DataFrame | None = None  # index: item token; string columns
    part: np.ndarray | None = None  # per row: 0 train, 1 valid, 2 test (pre-split data only)
    sources: tuple[str, ...] = field(default_factory=tuple)


def _require(path: Path) -> bytes:
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a data file")
    if not path.is_file():
        raise DataError(f"{path}: file not found (run `cure4rec data fetch` or check --data-dir)")
    data = path.read_bytes()
    if not data.strip():
        raise DataError(f"{path}: file is empty")
    return data


def check_text(path: Path, data: bytes, encoding: str = "utf-8") -> None:
    """DataError naming the line and byte of the first byte sequence `encoding` rejects."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(f"{path}, line {line}, byte {col}: not {encoding} text "
                        f"({data[exc.start:exc.start + 1]!r}); re-save the file as "
                        f"{encoding}") from exc


def check_last_row(path: Path, data: bytes, df: pd.DataFrame, col: str) -> None:
    """A file cut off mid-row (no final newline, last `col` value shorter than every other
    of the last rows) is refused instead of read as data."""
    if data.endswith(b"\n") or len(df) < 3 or col not in df.columns:
        return
    tail = df[col].iloc[-1001:].astype(str).str.len().to_numpy()
    if tail[-1] < tail[:-1].min():
        line = data.count(b"\n") + 1
        raise DataError(f"{path}, line {line}: the last row looks cut off "
                        f"({col} {df[col].iloc[-1]!r} is shorter than the others and the file "
                        "has no final newline); fetch the file again or complete the row")


def check_columns(path: Path, data: bytes, sep: str, n_cols: int, header: bool) -> None:
    """Raise DataError naming the first line whose field count is not `n_cols` (vectorised)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.concatenate([[0], ends[:-1] + 1])
    seps = np.flatnonzero(buf == ord(sep[0]))
    per_line = np.searchsorted(seps, ends) - np.searchsorted(seps, starts)
    blank = (ends - starts) <= (buf[np.maximum(ends - 1, 0)] == 13)
    expected = (n_cols - 1) * len(sep)
    bad = np.flatnonzero((per_line != expected) & ~blank)
    if len(bad):
        k = int(bad[0])
        found = per_line[k] // len(sep) + 1
        raise DataError(f"{path}, line {k + 1}: expected {n_cols} columns separated by "
                        f"{sep!r}, found {found}")
    if len(starts) - int(blank.sum()) <= int(header):
        raise DataError(f"{path}: file has no data rows")


def _to_float(path: Path, df: pd.DataFrame, col: str, line_offset: int) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(values) & (df[col].to_numpy() != ""))
    if len(bad):
        k = int(bad[0])
        raise DataError(f"{path}, line {k + line_offset}, column {col!r}: {df[col].iloc[k]!r} "
                        "is not a number")
    return values


def read_delimited(path: Path, sep: str, names: list[str], numeric: tuple[str, ...] = (),
                   header: bool = False, encoding: str = "utf-8") -> pd.DataFrame:
    """A delimited file as strings, with `numeric` columns converted to float64."""
    data = _require(path)
    check_text(path, data, encoding)
    check_columns(path, data, sep, len(names), header)
    raw_sep = sep[0] if len(sep) > 1 else sep  # '::' = ':' with empty fields in between
    width = (len(names) - 1) * len(sep) + 1
    cols = list(range(0, width, len(sep)))
    labels: list = (data.split(b"\n", 1)[0].decode(encoding).rstrip("\r").split(sep)
                    if header else cols)
    kw = dict(sep=raw_sep, header=0 if header else None, names=None if header else
              list(range(width)), usecols=None if header else cols, keep_default_na=False,
              na_filter=False, quoting=csv.QUOTE_NONE, engine="c", encoding=encoding,
              skip_blank_lines=True)
    typed = {lab: (np.float64 if nm in numeric else str) for lab, nm in zip(labels, names)}
    try:  # fast path: the C parser converts numbers itself
        df = pd.read_csv(path, dtype=typed, **kw)
        df.columns = names
    except ValueError:  # locate the offending value below, with its line and column
        df = pd.read_csv(path, dtype=str, **kw)
        df.columns = names
        for col in numeric:
            df[col] = _to_float(path, df, col, 2 if header else 1)
    if "timestamp" in names and not data.endswith(b"\n"):
        raw_ts = pd.read_csv(path, dtype=str, **kw)
        raw_ts.columns = names
        check_last_row(path, data, raw_ts, "timestamp")
    return df


def parse_atomic_header(path: Path, data: bytes) -> list[tuple[str, str]]:
    """`[(name, type), ...]` of an atomic file's `name:type` header."""
    check_text(path, data)
    first = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    fields = []
    for k, spec in enumerate(first.split("\t")):
        m = re.fullmatch(r"([^:]+):(token|token_seq|float|float_seq)", spec)
        if not m:
            raise DataError(f"{path}, line 1, column {k + 1}: bad atomic header field {spec!r} "
                            "(expected name:token|token_seq|float|float_seq)")
        fields.append((m.group(1), m.group(2)))
    return fields


def read_atomic(path: Path) -> pd.DataFrame:
    """One RecBole atomic file; `float` columns become float64, the rest strings."""
    data = _require(path)
    fields = parse_atomic_header(path, data)
    numeric = tuple(n for n, t in fields if t == "float")
    return read_delimited(path, "\t", [n for n, _ in fields], numeric, header=True)


def _inter_frame(df: pd.DataFrame, path: Path, user: str = "user_id",
                 item: str = "item_id") -> pd.DataFrame:
    for col in (user, item):
        if col not in df.columns:
            raise DataError(f"{path}: no column {col!r} (columns: {', '.join(df.columns)})")
    out = pd.DataFrame({"user": df[user], "item": df[item]})
    for col in ("rating", "timestamp"):
        if col in df.columns and df[col].dtype.kind == "f":
            out[col] = df[col]
    return out


def _attr_frame(df: pd.DataFrame, key: str) -> pd.DataFrame:
    return df.drop_duplicates(key).set_index(key).astype(str)


def read_atomic_dir(directory: Path, name: str) -> RawData:
    """`<name>.inter` (or `.train/.valid/.test.inter`) + optional `.user`/`.item` files."""
    base = directory / name
    single = directory / f"{name}.inter"
    users = items = None
    if (directory / f"{name}.user").is_file():
        users = _attr_frame(read_atomic(directory / f"{name}.user"), "user_id")
    if (directory / f"{name}.item").is_file():
        items = _attr_frame(read_atomic(directory / f"{name}.item"), "item_id")
    if (directory / f"{name}.train.inter").is_file():
        parts = [_inter_frame(read_atomic(Path(f"{base}.{p}.inter")), Path(f"{base}.{p}.inter"))
                 for p in ("train", "valid", "test")]
        label = np.concatenate([np.full(len(p), k, np.int8) for k, p in enumerate(parts)])
        inter = pd.concat(parts, ignore_index=True)
        return RawData(inter, users, items, label, (f"{base}.{{train,valid,test}}.inter",))
    return RawData(_inter_frame(read_atomic(single), single), users, items, None, (str(single),))


def read_ml100k(ratings: Path, users: Path | None = None, items: Path | None = None) -> RawData:
    """MovieLens 100K raw: `u.data` (tab), `u.user` and `u.item` (pipe, latin-1)."""
    df = read_delimited(ratings, "\t", ["user", "item", "rating", "timestamp"],
                        ("rating", "timestamp"))
    u = i = None
    if users is not None and users.is_file():
        u = read_delimited(users, "|", ["user_id", "age", "gender", "occupation", "zip_code"])
        u = _attr_frame(u, "user_id")
    if items is not None and items.is_file():
        genres = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                  "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical",
                  "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
        it = read_delimited(items, "|", ["item_id", "title", "date", "video", "url", *genres],
                            encoding="latin-1")
        flags = it[genres].to_numpy() == "1"
        names = np.array(genres, dtype=object)
        cls = [" ".join(names[row]) for row in flags]  # 1,682 rows: small, not a hot path
        i = pd.DataFrame({"class": cls, "movie_title": it["title"].to_numpy()},
                         index=it["item_id"].to_numpy())
    return RawData(df, u, i, None, (str(ratings),))


def read_ml1m(ratings: Path, users: Path | None = None) -> RawData:
    """MovieLens 1M raw: `ratings.dat` and `users.dat` with `::` separators."""
    df = read_delimited(ratings, "::", ["user", "item", "rating", "timestamp"],
                        ("rating", "timestamp"), encoding="latin-1")
    u = None
    if users is not None and users.is_file():
        u = read_delimited(users, "::", ["user_id", "gender", "age", "occupation", "zip_code"],
                           encoding="latin-1")
        u = _attr_frame(u, "user_id")
    return RawData(df, u, None, None, (str(ratings),))


def read_amazon(path: Path) -> RawData:
    """Amazon ratings-only CSV (`user,item,rating,timestamp`, no header), e.g. ADM 2014."""
    df = read_delimited(path, ",", ["user", "item", "rating", "timestamp"],
                        ("rating", "timestamp"))
    return RawData(df, None, None, None, (str(path),))


def read_gowalla(path: Path) -> RawData:
    """SNAP Gowalla check-ins: user, ISO time, latitude, longitude, location id (tab)."""
    cols = ["user", "time", "lat", "lon", "item"]
    df = pd.read_csv(path, sep="\t", names=cols, dtype=str, na_filter=False, engine="c")
    if df.empty:
        raise DataError(f"{path}: file is empty")
    ts = pd.to_datetime(df["time"], errors="coerce", utc=True)
    out = pd.DataFrame({"user": df["user"], "item": df["item"],
                        "timestamp": ts.astype("int64").to_numpy() / 1e9})
    return RawData(out, None, None, None, (str(path),))


def read_table(path: Path, columns: dict[str, str], sep: str = ",",
               header: bool = True) -> RawData:
    """Generic CSV/TSV; `columns` maps user/item[/rating/timestamp] to the file's column names
    (or 0-based positions as strings when there is no header)."""
    for need in ("user", "item"):
        if need not in columns:
            raise DataError(f"{path}: the column mapping needs a {need!r} entry")
    data = _require(path)
    check_text(path, data)
    first = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r").split(sep)
    names = first if header else [str(k) for k in range(len(first))]
    for role, col in columns.items():
        if col not in names:
            raise DataError(f"{path}: column {col!r} (for {role}) not in {', '.join(names)}")
    numeric = tuple(columns[r] for r in ("rating", "timestamp") if r in columns)
    df = read_delimited(path, sep, names, numeric, header=header)
    out = pd.DataFrame({role: df[col] for role, col in columns.items()
                        if role in ("user", "item", "rating", "timestamp")})
    return RawData(out, None, None, None, (str(path),))


def read_train_test(train: Path, test: Path) -> RawData:
    """A paper's shipped train/test pair as one pre-split table (part 0 train, 2 test).

    Two layouts, by suffix: `.csv` with a `uid,iid[,val]` header (CURE4Rec's files; every row
    is a positive), and `.txt` with one `user item item ...` line per user (LightGCN's)."""
    parts = [_read_positives(path) for path in (train, test)]
    label = np.concatenate([np.full(len(parts[0]), 0, np.int8),
                            np.full(len(parts[1]), 2, np.int8)])
    return RawData(pd.concat(parts, ignore_index=True), None, None, label,
                   (str(train), str(test)))


def _read_positives(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        data = _require(path)
        check_text(path, data)
        head = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r").split(",")
        if head[:2] != ["uid", "iid"]:
            raise DataError(f"{path}, line 1: expected a header starting uid,iid, got "
                            f"{','.join(head)!r}")
        df = read_delimited(path, ",", head, header=True)
        return pd.DataFrame({"user": df["uid"].to_numpy(), "item": df["iid"].to_numpy()})
    if path.suffix == ".txt":
        data = _require(path)
        check_text(path, data)
        users: list[str] = []
        items: list[str] = []
        for k, line in enumerate(data.decode("utf-8").splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            if not all(f.isdigit() for f in fields):
                raise DataError(f"{path}, line {k}: expected 'user item item ...' (integers), "
                                f"got {line[:60]!r}")
            users.extend([fields[0]] * (len(fields) - 1))
            items.extend(fields[1:])
        if not items:
            raise DataError(f"{path}: no interactions (expected 'user item item ...' lines)")
        return pd.DataFrame({"user": users, "item": items})
    raise DataError(f"{path}: unknown train/test layout {path.suffix!r} (expected .csv with a "
                    "uid,iid header, or LightGCN's .txt)")
