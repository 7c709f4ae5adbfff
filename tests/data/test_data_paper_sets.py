"""The papers' own data as shipped (CURE4Rec's ML-1M and ADM, LightGCN's Gowalla): shipped
train/test kept, a seeded validation carve-out from train, sha256 and counts checked; error
paths on small hand-made files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from cure4rec.data.cards import load_card
from cure4rec.data.fetch import fetch
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.errors import DataError

SHARED = (Path(__file__).resolve().parents[2] / "../shared/datasets").resolve()
realdata = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets not present")

# (card, users, items, interactions, shipped train, shipped test): ../shared/datasets/README.md
SETS = [("ml-1m-cure4rec", 6040, 3416, 999_611, 797_275, 202_336),
        ("adm-cure4rec", 22_878, 115_082, 238_692, 197_188, 41_504),
        ("gowalla-lightgcn", 29_858, 40_981, 1_027_370, 810_128, 217_242)]


@realdata
@pytest.mark.parametrize("name,users,items,n,n_train,n_test", SETS, ids=[s[0] for s in SETS])
def test_shipped_split_kept_and_valid_carved_from_train(name, users, items, n, n_train,
                                                        n_test) -> None:
    ds = load_dataset(name, data_dir=SHARED)
    inter = ds.interactions
    assert (inter.n_users, inter.n_items, len(inter)) == (users, items, n)
    sp = split_dataset(ds, seed=0)
    assert len(sp.test) == n_test
    assert len(sp.train) + len(sp.valid) == n_train
    assert sp.protocol == {"protocol": "presplit", "seed": 0, "valid_ratio": 0.1}
    # the test rows are exactly the shipped test file's
    shipped = ds.presplit
    assert shipped is not None and shipped.test.content_sha256() == sp.test.content_sha256()
    # valid ⊂ shipped train: per user round(0.1 · n_train), at least 1 while 1+ stays
    per_user = np.bincount(shipped.train.user, minlength=users)
    want = np.where(per_user >= 2, np.clip(np.floor(per_user * 0.1 + 0.5), 1, per_user - 1), 0)
    assert np.bincount(sp.valid.user, minlength=users).tolist() == want.astype(int).tolist()
    key = lambda x: set(zip(x.user.tolist(), x.item.tolist()))  # noqa: E731
    assert key(sp.valid) <= key(shipped.train) and not key(sp.valid) & key(sp.train)
    kept = np.bincount(sp.train.user, minlength=users)
    assert np.all(kept[per_user > 0] >= 1)
    # deterministic per seed, different across seeds; the dataset hash does not move
    again = split_dataset(load_dataset(name, data_dir=SHARED), seed=0)
    assert again.sha256 == sp.sha256
    assert split_dataset(ds, seed=1).sha256 != sp.sha256


@realdata
def test_adm_is_not_five_core_as_shipped() -> None:
    inter = load_dataset("adm-cure4rec", data_dir=SHARED).interactions
    item_deg = np.bincount(inter.item, minlength=inter.n_items)
    user_deg = np.bincount(inter.user, minlength=inter.n_users)
    assert int((item_deg < 5).sum()) == 108_173  # the paper says < 5 was filtered
    assert int(user_deg.min()) == 5              # the user side was


def _mini(tmp: Path, train: str, test: str, suffix: str = ".csv") -> Path:
    d = tmp / "mini"
    (d / "original").mkdir(parents=True)
    (d / "original" / f"train{suffix}").write_text(train)
    (d / "original" / f"test{suffix}").write_text(test)
    return d


def _card(tmp: Path, d: Path, suffix: str = ".csv", sha: dict[str, str] | None = None) -> Path:
    cards = tmp / "cards"
    cards.mkdir(exist_ok=True)
    srcs = "".join(f"  - {{url: 'x', filename: original/{r}{suffix}, sha256: '{h}'}}\n"
                   for r, h in (sha or {}).items()) or "  []\n"
    (cards / "mini.yaml").write_text(
        "name: mini\nversion: '1'\nreader: train-test\n"
        f"sources:\n{srcs}"
        f"files: {{train: original/train{suffix}, test: original/test{suffix}}}\n"
        "atomic_name: mini\npresplit: true\n"
        "preprocessing: {k_core: 0, split: {protocol: presplit, valid_ratio: 0.5}}\n")
    return cards


def test_csv_and_lightgcn_layouts_read_the_same_split(tmp_path) -> None:
    csv = _mini(tmp_path / "a", "uid,iid,val\n0,0,1\n0,1,1\n0,2,1\n1,1,1\n1,2,1\n",
                "uid,iid,val\n0,3,1\n1,0,1\n")
    txt = _mini(tmp_path / "b", "0 0 1 2\n1 1 2\n", "0 3\n1 0\n", ".txt")
    a = load_dataset("mini", data_dir=csv, cards_dir=_card(tmp_path / "a", csv))
    b = load_dataset("mini", data_dir=txt, cards_dir=_card(tmp_path / "b", txt, ".txt"))
    assert a.sha256 == b.sha256
    sa, sb = split_dataset(a, seed=3), split_dataset(b, seed=3)
    assert sa.sha256 == sb.sha256
    # 3 and 2 train rows per user at valid_ratio 0.5: round(1.5) = 2, round(1.0) = 1
    assert np.bincount(sa.valid.user).tolist() == [2, 1]
    assert np.bincount(sa.train.user).tolist() == [1, 1]
    assert len(sa.test) == 2


def test_wrong_file_checksum_names_the_file(tmp_path) -> None:
    d = _mini(tmp_path, "uid,iid,val\n0,0,1\n0,1,1\n1,1,1\n1,0,1\n", "uid,iid,val\n0,2,1\n")
    good = hashlib.sha256((d / "original" / "test.csv").read_bytes()).hexdigest()
    cards = _card(tmp_path, d, sha={"train": "0" * 64, "test": good})
    with pytest.raises(DataError, match=r"train\.csv: sha256 .* is not the 0{64}"):
        load_dataset("mini", data_dir=d, cards_dir=cards)


@pytest.mark.parametrize("body,match", [
    ("user,item\n0,1\n1,2\n", r"train\.csv, line 1: expected a header starting uid,iid"),
    ("uid,iid,val\n0,1,1\n1,2\n", r"train\.csv, line 3"),
])
def test_malformed_csv_names_the_line(tmp_path, body, match) -> None:
    d = _mini(tmp_path, body, "uid,iid,val\n0,2,1\n")
    with pytest.raises(DataError, match=match):
        load_dataset("mini", data_dir=d, cards_dir=_card(tmp_path, d))


def test_malformed_lightgcn_line_and_missing_file(tmp_path) -> None:
    d = _mini(tmp_path, "0 1 2\n1 x 3\n", "0 3\n", ".txt")
    cards = _card(tmp_path, d, ".txt")
    with pytest.raises(DataError, match=r"train\.txt, line 2: expected 'user item item"):
        load_dataset("mini", data_dir=d, cards_dir=cards)
    (d / "original" / "test.txt").unlink()
    (d / "original" / "train.txt").write_text("0 1 2\n1 2 3\n")
    with pytest.raises(DataError, match=r"test file 'original/test\.txt' not found"):
        load_dataset("mini", data_dir=d, cards_dir=cards)


def test_counts_that_differ_from_the_card_are_refused(tmp_path) -> None:
    if not (SHARED / "adm-cure4rec").is_dir():
        pytest.skip("../shared/datasets not present")
    d = tmp_path / "adm"
    shutil.copytree(SHARED / "adm-cure4rec" / "original", d / "original")
    test = d / "original" / "test.csv"
    test.write_text("".join(test.read_text().splitlines(keepends=True)[:-1000]))
    card = load_card("adm-cure4rec")
    cards = tmp_path / "cards"
    cards.mkdir()
    body = Path(card.path).read_text().replace(card.sources[1].sha256 or "", "null")  # type: ignore[arg-type]
    body = body.replace('sha256: "null"', "sha256: null")
    (cards / "adm-cure4rec.yaml").write_text(body)
    with pytest.raises(DataError, match=r"interactions 237692 \(card: 238692\)"):
        load_dataset("adm-cure4rec", data_dir=d, cards_dir=cards)


def test_fetch_refuses_a_repository_folder() -> None:
    with pytest.raises(DataError, match="not a download"):
        fetch(load_card("ml-1m-cure4rec"))
