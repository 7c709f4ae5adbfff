"""Interactions: immutability, set algebra, CSR views, canonical hashing."""

import numpy as np
import pytest

from cure4rec.data.interactions import Interactions
from cure4rec.errors import DataError


@pytest.fixture
def toy() -> Interactions:
    return Interactions.from_pairs([0, 0, 1, 2, 2, 2], [0, 2, 1, 0, 1, 3], n_users=4, n_items=5,
                                   rating=[5, 3, 4, 1, 2, 5], name="toy")


def test_arrays_are_read_only_copies(toy):
    src = np.array([0, 1])
    x = Interactions.from_pairs(src, [1, 0])
    src[0] = 1
    assert x.user[0] == 0
    with pytest.raises(ValueError):
        x.user[0] = 3


def test_degrees_and_stats(toy):
    assert toy.user_degree().tolist() == [2, 1, 3, 0]
    assert toy.item_degree().tolist() == [2, 2, 1, 1, 0]
    st = toy.stats()
    assert (st["users"], st["items"], st["interactions"]) == (3, 4, 6)
    assert st["density"] == pytest.approx(6 / 12)


def test_csr_is_binary_and_collapses_duplicates():
    x = Interactions.from_pairs([0, 0, 1], [1, 1, 0], 2, 2)
    m = x.csr().toarray()
    assert m.tolist() == [[0, 1], [1, 0]]


def test_difference_and_isin_keep_the_index_space(toy):
    forget = toy.subset(toy.users_mask([2]))
    rest = toy.difference(forget)
    assert len(rest) == 3 and not rest.users_mask([2]).any()
    assert rest.n_users == 4 and rest.n_items == 5 and rest.same_space(toy)
    assert forget.isin(toy).all()
    assert len(rest.concat(forget)) == len(toy)


def test_sha256_ignores_row_order_but_not_content(toy):
    perm = np.array([5, 3, 1, 0, 2, 4])
    assert toy.subset(perm).content_sha256() == toy.content_sha256()
    assert toy.subset(np.arange(5)).content_sha256() != toy.content_sha256()
    other = Interactions(toy.user, toy.item, 4, 5, rating=toy.rating + 1)
    assert other.content_sha256() != toy.content_sha256()


def test_sha256_is_a_fixed_layout():
    # Pinned: changing the canonical layout changes every published split id's checksum.
    x = Interactions.from_pairs([0, 1, 1, 2], [1, 0, 2, 2])
    assert x.content_sha256() == (
        "e37657a881b4d4689efe23e27c453671cff964aac2f687c66743c7be61ee5a4a")
    assert x.subset(np.array([3, 2, 1, 0])).content_sha256() == x.content_sha256()


def test_out_of_range_indices_are_rejected():
    with pytest.raises(DataError, match="item index"):
        Interactions.from_pairs([0], [3], n_users=1, n_items=3)
    with pytest.raises(DataError, match="differ in length"):
        Interactions([0, 1], [0], 2, 2)
