"""Ranking metrics against hand-computed answers and against RecBole's metric classes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cure4rec.data.interactions import Interactions
from cure4rec.errors import ConfigError
from cure4rec.metrics.ranking import evaluate_ranking, ranked, tie_order, top_k
from tests._optional import require

L2_3, L2_4, L2_5 = math.log2(3), 2.0, math.log2(5)


def _fixed(scores: list[list[float]]):  # type: ignore[no-untyped-def]
    table = torch.tensor(scores, dtype=torch.float32)
    return lambda users: table[torch.as_tensor(users)]


def _inter(pairs: list[tuple[int, int]], n_users: int = 3, n_items: int = 5) -> Interactions:
    u, i = zip(*pairs) if pairs else ((), ())
    return Interactions.from_pairs(list(u), list(i), n_users, n_items)


SCORES = [[0.9, 0.8, 0.7, 0.1, 0.0]] * 3  # every user ranks items 0,1,2,3,4


def test_hand_computed_standard() -> None:
    test = _inter([(0, 0), (0, 2), (1, 0), (1, 1), (1, 2), (1, 3)])  # user 2: no test items
    res = evaluate_ranking(_fixed(SCORES), None, test, ks=(2, 3))
    assert res.mode == "standard" and list(res.users) == [0, 1]
    idcg2 = 1 + 1 / L2_3
    # user 0: hits at ranks 1 and 3
    assert res.per_user["ndcg@2"][0] == pytest.approx(1 / idcg2)
    assert res.per_user["ndcg@3"][0] == pytest.approx((1 + 1 / L2_4) / idcg2)
    assert res.per_user["recall@2"][0] == pytest.approx(0.5)
    assert res.per_user["hr@2"][0] == 1.0 and res.per_user["mrr@2"][0] == 1.0
    assert res.per_user["precision@3"][0] == pytest.approx(2 / 3)
    # user 1: four test items, more than k -> standard NDCG can reach 1, recall cannot
    assert res.per_user["ndcg@2"][1] == pytest.approx(1.0)
    assert res.per_user["recall@2"][1] == pytest.approx(0.5)
    assert res.mean("ndcg@2") == pytest.approx((1 / idcg2 + 1) / 2)


def test_compat_mode_untruncated_idcg_and_hr_is_recall() -> None:
    test = _inter([(1, 0), (1, 1), (1, 2), (1, 3)])
    res = evaluate_ranking(_fixed(SCORES), None, test, ks=(2,), mode="cure4rec-compat")
    assert res.mode == "cure4rec-compat"
    idcg_full = 1 + 1 / L2_3 + 1 / L2_4 + 1 / L2_5
    assert res.per_user["ndcg@2"][0] == pytest.approx((1 + 1 / L2_3) / idcg_full)
    assert res.per_user["hr@2"][0] == pytest.approx(0.5) == res.per_user["recall@2"][0]


def test_history_excluded_and_mrr() -> None:
    test = _inter([(0, 2)])
    hist = _inter([(0, 0), (0, 1)])
    res = evaluate_ranking(_fixed(SCORES), hist, test, ks=(1, 2))
    assert res.per_user["ndcg@1"][0] == 1.0  # items 0,1 masked: item 2 ranks first
    no_hist = evaluate_ranking(_fixed(SCORES), None, test, ks=(1, 3))
    assert no_hist.per_user["mrr@3"][0] == pytest.approx(1 / 3)
    assert no_hist.per_user["hr@1"][0] == 0.0 and no_hist.per_user["mrr@1"][0] == 0.0
    assert top_k(_fixed(SCORES), [0], 2, history=hist).tolist() == [[2, 3]]


def test_ties_follow_the_seeded_random_order_not_item_index() -> None:
    # An all-equal row (an ALS user who never trained): index order would put items 0..19
    # (the popular head in most datasets) on top and score far above chance.
    n = 1000
    flat = [[0.0] * n] * 3
    head = _inter([(0, i) for i in range(20)] + [(1, 999)], n_items=n)
    res = evaluate_ranking(_fixed(flat), None, head, ks=(20,))
    order = tie_order(n)
    top = top_k(_fixed(flat), [0, 1], 20)
    assert top.tolist() == [order[:20].tolist()] * 2  # the same fixed order on every call
    assert sorted(order.tolist()) == list(range(n)) and order[:20].tolist() != list(range(20))
    expected_hits = len(set(order[:20].tolist()) & set(range(20)))
    assert res.per_user["recall@20"][0] == expected_hits / 20 < 0.2  # chance: 20/1000 each
    assert tie_order(n).tolist() == order.tolist()
    # Non-tied scores still rank by score.
    assert top_k(_fixed([[0.1, 0.9, 0.5]]), [0], 2).tolist() == [[1, 2]]


@pytest.mark.parametrize("seed", range(6))
def test_ranked_fast_path_equals_the_full_stable_sort(seed: int) -> None:
    # `ranked` skips the full sort where the top-k set is unambiguous; it must give exactly
    # the definition's order (stable descending sort of the tie-permuted row) in every case:
    # distinct scores, ties inside / across the k-th place, -inf masks, NaN, all-equal rows.
    g = torch.Generator().manual_seed(seed)
    n = 40 + 37 * seed
    s = torch.randn(24, n, generator=g)
    s[1:6] = torch.round(s[1:6] * 2) / 2  # coarse values: ties across the k-th place
    s[6, :] = 0.0
    s[7, : n - 3] = -torch.inf  # fewer finite items than k
    s[8:12][torch.rand(4, n, generator=g) < 0.6] = -torch.inf
    s[12, 5] = float("nan")
    s[13, :3] = s[13].max() + 1  # a three-way tie at the top, then distinct
    s[14:18] = torch.where(s[14:18] > 1.2, s[14:18], torch.zeros(()))  # few above a tied 0
    s[18, :] = torch.where(s[18] < 0, -torch.inf, 0.0)  # only ties and masks
    perm = tie_order(n)
    for k in (1, 2, 5, 10, n // 4, n // 4 + 1, n):
        want = perm[torch.sort(s[:, perm], dim=1, descending=True, stable=True).indices[:, :k]]
        assert torch.equal(ranked(s, k), want), k
        assert torch.equal(ranked(s.double(), k), want), k


def test_bad_arguments_and_empty() -> None:
    with pytest.raises(ConfigError,
                       match="^unknown metric mode 'nope'; use one of standard, cure4rec-compat$"):
        evaluate_ranking(_fixed(SCORES), None, _inter([(0, 1)]), mode="nope")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        evaluate_ranking(_fixed(SCORES), None, _inter([(0, 1)]), ks=(0,))
    res = evaluate_ranking(_fixed(SCORES), None, _inter([(0, 1)]), users=np.array([2]))
    assert len(res.users) == 0 and math.isnan(res.mean("ndcg@20"))


def test_matches_recbole_metric_classes() -> None:
    require("recbole")
    from recbole.config import Config
    from recbole.evaluator.metrics import MRR, NDCG, Hit, Precision, Recall

    rng = np.random.default_rng(0)
    n_users, n_items, ks = 60, 50, (5, 10)
    scores = torch.from_numpy(rng.random((n_users, n_items)).astype(np.float32))
    keys = rng.choice(n_users * n_items, size=900, replace=False)
    hist = Interactions.from_pairs(keys[:600] // n_items, keys[:600] % n_items, n_users, n_items)
    test = Interactions.from_pairs(keys[600:] // n_items, keys[600:] % n_items, n_users, n_items)
    ours = evaluate_ranking(lambda u: scores[torch.as_tensor(u)], hist, test, ks=ks)

    cfg = Config(model="Pop", dataset="cross-check",
                 config_dict={"topk": list(ks), "metric_decimal_place": 10, "data_path": "/nonexistent"})
    masked = scores.clone()
    masked[torch.tensor(hist.user), torch.tensor(hist.item)] = -torch.inf
    users = torch.tensor(ours.users)
    truth = torch.zeros(n_users, n_items, dtype=torch.bool)
    truth[torch.tensor(test.user), torch.tensor(test.item)] = True
    top = torch.topk(masked[users], max(ks), dim=1).indices
    hit = torch.gather(truth[users], 1, top).numpy()
    pos_len = truth[users].sum(1).numpy()
    for cls, name in [(NDCG, "ndcg"), (Recall, "recall"), (Hit, "hr"), (MRR, "mrr"),
                      (Precision, "precision")]:
        needs_len = name in ("ndcg", "recall")
        info = cls(cfg).metric_info(hit, pos_len) if needs_len else cls(cfg).metric_info(hit)
        for k in ks:
            np.testing.assert_allclose(ours.per_user[f"{name}@{k}"], info[:, k - 1], atol=1e-6)


class _Model:
    def __init__(self, scores: list[list[float]]) -> None:
        self.table = torch.tensor(scores, dtype=torch.float64)  # any dtype, any device

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.table[torch.as_tensor(users)]


def test_result_helpers_model_protocol_and_empty_inputs() -> None:
    test = _inter([(0, 0), (1, 3), (2, 4)])
    res = evaluate_ranking(_Model(SCORES), None, test, ks=(3, 2))
    assert res.ks == (2, 3) and res.mode == "standard"
    assert list(res.per_user["hr@2"]) == [1.0, 0.0, 0.0]
    assert res.per_user["hr@2"].dtype == np.float64
    assert res.means() == pytest.approx({f"{m}@{k}": res.mean(f"{m}@{k}")
                                         for m in ("ndcg", "recall", "hr", "precision", "mrr")
                                         for k in (2, 3)})
    assert list(res.means()) == sorted(res.means())
    assert res.means()["mrr@2"] == pytest.approx(1 / 3)
    sub = res.restrict(np.array([2, 0]))
    assert list(sub.users) == [0, 2] and list(sub.per_user["hr@2"]) == [1.0, 0.0]
    assert (sub.mode, sub.ks) == (res.mode, res.ks)
    assert len(res.restrict(np.array([], dtype=np.int64)).users) == 0
    with pytest.raises(TypeError, match="^expected a Recommender or a callable users -> scores$"):
        evaluate_ranking(object(), None, test)
    empty = top_k(_Model(SCORES), np.array([], dtype=np.int64), 2)
    assert empty.shape == (0, 2) and empty.dtype == torch.long
    assert top_k(_Model(SCORES), [2, 0], 2, batch_users=1).tolist() == [[0, 1], [0, 1]]


def test_empty_result_mean_is_nan_without_numpy_warning() -> None:
    import warnings

    res = evaluate_ranking(_fixed(SCORES), None, _inter([(0, 1)]), users=np.array([2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the NaN is explicit, not numpy's empty-mean warning
        assert math.isnan(res.mean("ndcg@20"))


def test_bad_cutoff_message_names_the_value() -> None:
    with pytest.raises(ConfigError, match=r"positive integers, got \(-1,\)"):
        evaluate_ranking(_fixed(SCORES), None, _inter([(0, 1)]), ks=(-1,))
