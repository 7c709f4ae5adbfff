"""Preprocessing: dedup keeps the earliest, k-core is the maximal core, remap is ordered."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cure4rec.data.preprocess import PreprocessConfig, k_core_mask, preprocess
from cure4rec.data.readers import RawData


def test_dedup_keeps_earliest_and_remap_is_numeric_order() -> None:
    df = pd.DataFrame({"user": ["10", "2", "2"], "item": ["b", "a", "a"],
                       "rating": [1.0, 2.0, 4.0], "timestamp": [5.0, 9.0, 3.0]})
    inter = preprocess(RawData(df), PreprocessConfig(k_core=0))
    assert len(inter) == 2
    assert inter.user_tokens.tolist() == ["2", "10"] and inter.item_tokens.tolist() == ["a", "b"]
    assert inter.timestamp.tolist() == [3.0, 5.0] and inter.rating.tolist() == [4.0, 1.0]


def test_rating_threshold() -> None:
    df = pd.DataFrame({"user": ["1", "1"], "item": ["a", "b"], "rating": [1.0, 4.0]})
    inter = preprocess(RawData(df), PreprocessConfig(rating_threshold=4, k_core=0))
    assert inter.item_tokens.tolist() == ["b"]


def test_k_core_iterates_until_stable() -> None:
    # a 2x2 block is a 2-core; user 2 (one item) falls, then item 2 loses its 2nd user.
    user = np.array([0, 0, 1, 1, 2, 0])
    item = np.array([0, 1, 0, 1, 2, 2])
    keep = k_core_mask(user, item, 2)
    assert keep.tolist() == [True, True, True, True, False, False]
