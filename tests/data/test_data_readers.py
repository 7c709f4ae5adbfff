"""Readers: atomic, MovieLens raw, Amazon CSV, generic CSV; bad inputs name file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cure4rec.data.readers import (
    read_amazon,
    read_atomic,
    read_atomic_dir,
    read_ml1m,
    read_ml100k,
    read_table,
)
from cure4rec.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_atomic_types_and_presplit(tmp_path: Path) -> None:
    write(tmp_path / "d.inter", "user_id:token\titem_id:token\trating:float\n"
                                "a\tx\t5\nb\ty\t3.5\n")
    df = read_atomic(tmp_path / "d.inter")
    assert list(df.columns) == ["user_id", "item_id", "rating"]
    assert df["rating"].tolist() == [5.0, 3.5] and df["user_id"].tolist() == ["a", "b"]
    for part, rows in (("train", "1\t1\n1\t2\n"), ("valid", "1\t3\n"), ("test", "2\t1\n")):
        write(tmp_path / f"p.{part}.inter", "user_id:token\titem_id:token\n" + rows)
    raw = read_atomic_dir(tmp_path, "p")
    assert raw.part.tolist() == [0, 0, 1, 2] and len(raw.inter) == 4


def test_movielens_raw(tmp_path: Path) -> None:
    write(tmp_path / "u.data", "1\t10\t3\t100\n2\t10\t5\t101\n")
    write(tmp_path / "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n")
    raw = read_ml100k(tmp_path / "u.data", tmp_path / "u.user")
    assert raw.inter["timestamp"].tolist() == [100.0, 101.0]
    assert raw.users.loc["2", "gender"] == "F"
    write(tmp_path / "ratings.dat", "1::1193::5::978300760\n2::661::3::978302109\n")
    write(tmp_path / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    raw = read_ml1m(tmp_path / "ratings.dat", tmp_path / "users.dat")
    assert raw.inter["item"].tolist() == ["1193", "661"]
    assert raw.users.loc["1", "gender"] == "F"


def test_amazon_and_generic_csv(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "A1,B1,5.0,1396137600\nA2,B1,4.0,1396137601\n")
    raw = read_amazon(tmp_path / "a.csv")
    np.testing.assert_array_equal(raw.inter["rating"], [5.0, 4.0])
    write(tmp_path / "g.tsv", "uid\tiid\tscore\nu\ti\t1\n")
    raw = read_table(tmp_path / "g.tsv", {"user": "uid", "item": "iid", "rating": "score"},
                     sep="\t")
    assert raw.inter.columns.tolist() == ["user", "item", "rating"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.inter: file not found"):
        read_atomic(tmp_path / "nope.inter")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file is empty"):
        read_amazon(write(tmp_path / "e.csv", ""))
    with pytest.raises(DataError, match="no data rows"):
        read_atomic(write(tmp_path / "h.inter", "user_id:token\titem_id:token\n"))


@pytest.mark.parametrize("body,line", [("1\t2\t3\n4\t5\n", 3), ("1\t2\t3\n4\t5\t6\t7\n", 3)])
def test_wrong_column_count(tmp_path: Path, body: str, line: int) -> None:
    f = write(tmp_path / "c.inter", "user_id:token\titem_id:token\trating:float\n" + body)
    with pytest.raises(DataError, match=rf"c.inter, line {line}: expected 3 columns"):
        read_atomic(f)


def test_non_numeric_value(tmp_path: Path) -> None:
    f = write(tmp_path / "u.data", "1\t10\t3\t100\n2\t10\tfive\t101\n")
    with pytest.raises(DataError, match=r"u.data, line 2, column 'rating': 'five' is not a "):
        read_ml100k(f)
    f = write(tmp_path / "n.inter", "user_id:token\ttimestamp:float\na\t1\nb\tx1\n")
    with pytest.raises(DataError, match=r"line 3, column 'timestamp'"):
        read_atomic(f)


def test_bad_atomic_header(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="bad atomic header field 'user_id'"):
        read_atomic(write(tmp_path / "b.inter", "user_id\titem_id:token\n1\t2\n"))
