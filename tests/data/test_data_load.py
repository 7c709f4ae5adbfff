"""load_dataset on real data (skipped when ../shared/datasets is absent) and on directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from cure4rec.data.cards import list_cards, load_card
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.errors import ConfigError, DataError, UnknownNameError

SHARED = (Path(__file__).resolve().parents[2] / "../shared/datasets").resolve()
realdata = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets not present")


@pytest.mark.realdata
@realdata
def test_ml100k_paper_statistics() -> None:
    ds = load_dataset("ml-100k", data_dir=SHARED)
    st = ds.interactions.stats()
    assert (st["users"], st["items"], st["interactions"]) == (943, 1349, 99287)
    assert ds.sha256 == load_dataset("ml-100k", data_dir=SHARED).sha256
    assert ds.interactions.user_attributes["gender"].notna().all()
    assert "Action" in ds.interactions.item_attributes["class"].iloc[1]


@pytest.mark.realdata
@realdata
def test_ml1m_itfr_presplit_with_gender() -> None:
    ds = load_dataset("ml-1m-itfr", data_dir=SHARED)
    split = split_dataset(ds)
    assert (len(split.train), len(split.valid), len(split.test)) == (276577, 40232, 79398)
    assert split.protocol["protocol"] == "presplit"
    counts = ds.interactions.user_attributes["gender"].value_counts()
    assert counts["0"] == 4289 and counts["1"] == 1688


@pytest.mark.realdata
@realdata
def test_directory_of_atomic_files(tmp_path: Path) -> None:
    d = tmp_path / "mine"
    d.mkdir()
    for ext in ("inter", "user", "item"):  # links, not copies (licence)
        (d / f"mine.{ext}").symlink_to(SHARED / "ml-100k" / f"ml-100k.{ext}")
    ds = load_dataset(d)
    assert ds.name == "mine" and ds.version == "local" and len(ds.interactions) == 99287


@pytest.mark.realdata
@realdata
def test_real_malformed_line_is_reported() -> None:
    # RecBole's own test subset ends with a 5-field row; the error names file and line.
    with pytest.raises(DataError, match=r"ml-100k-tiny.inter, line 6018: expected 4 columns"):
        load_dataset(SHARED / "ml-100k-tiny")


def test_raw_archive_layout(tmp_path: Path) -> None:
    d = tmp_path / "ml-100k"
    d.mkdir()
    rows = "".join(f"{u}\t{i}\t3\t{100 + u + i}\n" for u in range(1, 7) for i in range(1, 7))
    (d / "u.data").write_text(rows)
    ds = load_dataset("ml-100k", data_dir=tmp_path)
    assert len(ds.interactions) == 36 and ds.interactions.n_users == 6


def test_unknown_name_lists_known() -> None:
    with pytest.raises(UnknownNameError, match="known: adm, adm-cure4rec, gowalla, gowalla-lightgcn, ml-100k"):
        load_dataset("ml-10k")


def test_missing_data_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cure4rec data fetch ml-1m"):
        load_dataset("ml-1m", data_dir=tmp_path)


def test_unknown_override() -> None:
    with pytest.raises(ConfigError, match="unknown option"):
        load_dataset("synthetic", kcore=3)


def test_cards_are_complete() -> None:
    for name in ("ml-100k", "ml-1m", "adm", "gowalla", "synthetic"):
        card = load_card(name)
        assert card.licence and card.citation and card.preprocessing["k_core"] == 5
        assert name in list_cards()
    assert load_card("ml-100k").sources[0].url.endswith("ml-100k.zip")
