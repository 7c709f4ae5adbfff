"""Known answers for `cure4rec.leaderboard.build` (issue 17: a wrong published number fails).

Every expected value is worked by hand (or by a few lines of the textbook formula, never by
the code under test) on tiny hand-made records: means, sample standard deviations and
Student-t half-widths over seeds, `n` per row, which cell is best and when "best" is
withheld, row / metric / section order, number formatting, missing metrics, failed cells,
section keys and titles, the fingerprint, and the bytes of a small leaderboard's CSV.
t quantiles (0.975): df 1 → 12.706205, 2 → 4.302653, 3 → 3.182446, 4 → 2.776445.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import warnings
from typing import Any

import pytest

import cure4rec.leaderboard.build as build
from cure4rec.leaderboard.build import (
    LEGACY_PROTOCOL,
    Row,
    Section,
    Stat,
    _stat,
    best_rows,
    build_leaderboard,
    card_name,
    direction_of,
    fingerprint,
    format_stat,
    format_value,
    is_failed,
    protocol_of,
    target_value,
    welch_p,
)

T975 = {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445}
NDCG = "utility.ndcg@20"


def _cell(seed: int, *, kind: str = "method", method: str = "a", mconf: dict | None = None,
          model: str = "bpr", dim: int = 8, forget: dict | None = None,
          ds_params: dict | None = None) -> dict[str, Any]:
    return {"kind": kind, "dataset": {"name": "syn", "params": ds_params or {}},
            "split": {"protocol": None, "ratios": None, "seed": 0},
            "forget": forget or {"strategy": "random", "fraction": 0.05, "seed": 0},
            "model": {"name": model, "config": {"dim": dim}},
            "method": {"name": method, "config": mconf or {}}, "seed": seed,
            "evaluator": {}, "references": {}, "fairness": {}, "stream": None}


def _rec(seed: int, metrics: dict[str, Any], *, info: dict | None = None,
         version: str = "0.1.0", dataset: dict | None = None, split: dict | None = None,
         **cell: Any) -> dict[str, Any]:
    """A record as the runner writes it, by hand (only what the leaderboard reads)."""
    c = _cell(seed, **cell)
    return {"schema_version": 2, "package": {"name": "cure4rec", "version": version},
            "config_hash": hashlib.sha256(json.dumps(c, sort_keys=True).encode()).hexdigest()[:16],
            "kind": c["kind"], "cell": c,
            "dataset": dataset or {"name": "syn", "version": "1", "sha256": "d0"},
            "split": split or {"id": "syn-random", "sha256": "s0"},
            "model": c["model"], "method": c["method"], "seed": seed, "metrics": metrics,
            "timings": {}, "info": info or {}, "environment": {}}


def _failed(rec: dict[str, Any], etype: str | None = "ValueError") -> dict[str, Any]:
    err = {"message": "boom"} if etype is None else {"type": etype, "message": "boom"}
    return dict(rec, metrics={}, status="error", error=err)


def _row(name: str, values: list[float], *, role: str = "method", model: str = "bpr",
         metric: str = NDCG) -> Row:
    return Row(model, name, role, tuple(range(len(values))), {metric: _stat(values,
                                                                          len(values))})


def _sec(rows: list[Row], metric: str = NDCG, direction: str | None = None) -> Section:
    d = direction or direction_of(metric)
    return Section("t", "k", rows[0].seeds, (metric,), {metric: d}, tuple(rows))


def _welch(a: list[float], b: list[float]) -> float:
    """Welch's two-sided p by the textbook formula (Welch–Satterthwaite df)."""
    from scipy.stats import t

    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    va = sum((x - ma) ** 2 for x in a) / (na - 1) / na
    vb = sum((x - mb) ** 2 for x in b) / (nb - 1) / nb
    tt = (ma - mb) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    return float(2 * t.sf(abs(tt), df))


# ---------------------------------------------------------------------------- statistics


def test_stat_mean_std_ci_by_hand() -> None:
    st = _stat([0.1, 0.2, 0.6], 3)  # mean 0.3, sd √((0.04 + 0.01 + 0.09) / 2) = √0.07
    sd = math.sqrt(0.07)
    assert (st.mean, st.std, st.n) == (0.3, round(sd, 6), 3) and st.std == 0.264575
    assert st.ci == pytest.approx(T975[2] * sd / math.sqrt(3), abs=2e-6) and st.ci == 0.657241
    assert st.values == (0.1, 0.2, 0.6)
    two = _stat([1.0, 3.0], 2)  # sd √2, h = t(1)·√2/√2 = 12.706205
    assert (two.mean, two.std, two.ci, two.n) == (2.0, 1.414214, 12.706205, 2)
    five = _stat([1.0, 2.0, 3.0, 4.0, 5.0], 5)  # sd √2.5, h = 2.776445·√2.5/√5
    assert five.std == 1.581139 and five.ci == round(T975[4] * math.sqrt(0.5), 6) == 1.963243
    four = _stat([2.0, 4.0, 4.0, 6.0], 4)  # sd √(8/3), h = 3.182446·√(8/3)/2
    assert four.mean == 4.0 and four.ci == pytest.approx(T975[3] * math.sqrt(8 / 3) / 2, abs=2e-6)
    neg = _stat([-1.0, -3.0], 2)
    assert (neg.mean, neg.std) == (-2.0, 1.414214)


def test_stat_rounds_to_six_decimals_and_keeps_seed_order() -> None:
    st = _stat([0.1234564, 0.3, 0.2000006], 3)
    assert st.values == (0.123456, 0.3, 0.200001)  # seed order, not sorted
    assert st.mean == round((0.1234564 + 0.3 + 0.2000006) / 3, 6) == 0.207819
    assert isinstance(st.values[0], float)
    third = _stat([0.1, 0.2, 0.2], 3)  # mean 1/6, sd √(1/300), h = 4.302653·√(1/900)
    assert (third.mean, third.std, third.ci) == (0.166667, 0.057735, 0.143422)
    ints = _stat([1, 2], 2)  # integer metrics are read as floats
    assert ints.values == (1.0, 2.0) and isinstance(ints.mean, float)


def test_stat_single_seed_has_no_interval() -> None:
    st = _stat([0.42], 1)
    assert (st.mean, st.std, st.n, st.ci, st.values) == (0.42, 0.0, 1, None, (0.42,))
    assert format_stat(st) == "0.4200"


@pytest.mark.parametrize("values, expected, n", [
    ([0.1, None, 0.3], 3, 2),   # a seed without the metric
    ([None, None], 2, 0),
    ([0.1, 0.2], 3, 2),          # a seed missing altogether
    ([], 2, 0),
    ([0.1, 0.2, 0.3], 2, 3),     # more values than seeds
])
def test_stat_partial_coverage_is_empty(values: list, expected: int, n: int) -> None:
    assert _stat(values, expected) == Stat(None, None, n)
    assert Stat(None, None, n).ci is None and Stat(None, None, n).values == ()


# ---------------------------------------------------------------------------- formatting


@pytest.mark.parametrize("x, text", [
    (None, ""), (0.0, "0.0000"), (0.123456, "0.1235"), (-0.5, "-0.5000"),
    (99.99994, "99.9999"), (99.9, "99.9000"), (100.0, "100.0"), (-100.0, "-100.0"),
    (1234.56, "1234.6"), (-250.04, "-250.0"), (12.0, "12.0000"),
])
def test_format_value(x: float | None, text: str) -> None:
    assert format_value(x) == text


def test_format_stat() -> None:
    assert format_stat(Stat(None, None, 3)) == ""
    assert format_stat(Stat(0.25, 0.01, 3, 0.0248)) == "0.2500 ± 0.0248"
    assert format_stat(Stat(150.0, 5.0, 3, 12.34)) == "150.0 ± 12.3400"
    assert format_stat(Stat(0.25, 0.01, 3, None)) == "0.2500"  # no interval: no ±
    assert format_stat(Stat(0.25, 0.0, 1, 0.5)) == "0.2500"  # one seed: never ±
    assert format_stat(Stat(0.25, 0.0, 0, 0.5)) == "0.2500"
    assert format_stat(Stat(0.25, 0.01, 2, 0.127)) == "0.2500 ± 0.1270"
    assert format_stat(Stat(0.0, 0.0, 3, 0.0)) == "0.0000 ± 0.0000"


# ---------------------------------------------------------------------------- Welch's test


def test_welch_p_matches_the_formula() -> None:
    a, b = [0.40, 0.42, 0.38], [0.30, 0.35, 0.31, 0.29]
    assert welch_p(tuple(a), tuple(b)) == pytest.approx(_welch(a, b), rel=1e-9)
    assert welch_p(tuple(b), tuple(a)) == pytest.approx(_welch(a, b), rel=1e-9)
    two = ([1.0, 2.0], [2.5, 4.0])  # n = 2 each is enough
    assert welch_p(*map(tuple, two)) == pytest.approx(_welch(*two), rel=1e-9)
    assert 0.05 < _welch(*two) < 1.0
    const = ([1.0, 1.0, 1.0], [1.1, 1.2, 1.3])  # one constant sample: still Welch
    assert welch_p(*map(tuple, const)) == pytest.approx(_welch(*const), rel=1e-9)
    assert 0.05 < _welch(*const) < 0.1
    assert welch_p(*map(tuple, const[::-1])) == pytest.approx(_welch(*const), rel=1e-9)
    const_eq = ([1.2, 1.2, 1.2], [1.1, 1.2, 1.3])  # constant at the other's mean: t = 0
    assert welch_p(*map(tuple, const_eq)) == pytest.approx(1.0)


def test_welch_p_undefined_cases() -> None:
    assert welch_p((0.1,), (0.2, 0.3, 0.4)) == 1.0  # fewer than 2 seeds
    assert welch_p((0.2, 0.3, 0.4), (0.1,)) == 1.0
    assert welch_p((), ()) == 1.0
    assert welch_p((0.5,), (0.6,)) == 1.0  # one seed each: not "constant and different"
    assert welch_p((0.5,), (0.6, 0.6)) == 1.0  # one seed against a constant sample
    assert welch_p((0.6, 0.6, 0.6), (0.5,)) == 1.0
    assert welch_p((0.5, 0.5), (0.5, 0.5, 0.5)) == 1.0  # both constant, equal
    assert welch_p((0.5, 0.5), (0.6, 0.6)) == 0.0  # both constant, different: separated
    assert welch_p((0.6, 0.6, 0.6), (0.5, 0.5)) == 0.0
    assert welch_p((1.0, float("inf")), (1.0, 2.0)) == 1.0  # scipy's NaN → 1
    with warnings.catch_warnings():  # scipy warns of precision loss here: silenced
        warnings.simplefilter("error")
        assert 0.0 <= welch_p((0.3, 0.3, 0.3 + 1e-15), (0.3, 0.3, 0.3 + 2e-15)) <= 1.0


# ---------------------------------------------------------------------------- best rows


def test_best_higher_and_lower() -> None:
    hi = _sec([_row("a", [0.30, 0.31, 0.29]), _row("b", [0.40, 0.41, 0.39]),
               _row("c", [0.10, 0.11, 0.09])])
    assert best_rows(hi, NDCG) == {1}
    t = "efficiency.unlearn_wall_s"
    lo = _sec([_row("a", [5.0, 5.1, 4.9], metric=t), _row("b", [2.0, 2.1, 1.9], metric=t),
               _row("c", [1.0, 1.1, 0.9], metric=t)], t)
    assert best_rows(lo, t) == {2}
    assert best_rows(_sec(lo.rows, t, "higher"), t) == {0}  # direction read from the section
    # ranked by the mean, not by the first seed: q starts lower (1.09 < 1.10), p is lower
    p, q = [1.10, 0.95, 0.95, 1.00], [1.09, 1.25, 1.25, 1.21]  # means 1.0, 1.2; p ≈ 0.008
    assert _welch(p, q) < 0.05
    lo = _sec([_row("q", q, metric=t), _row("p", p, metric=t)], t)
    assert best_rows(lo, t) == {1}
    assert best_rows(_sec(lo.rows, t, "higher"), t) == {0}


def test_best_is_an_index_into_all_rows_and_ignores_references() -> None:
    rows = [_row("original", [0.9, 0.91, 0.89], role="reference"),
            _row("retrain", [0.8, 0.81, 0.79], role="reference"),
            _row("a", [0.30, 0.31, 0.29]), _row("b", [0.50, 0.51, 0.49])]
    assert best_rows(_sec(rows), NDCG) == {3}  # references better, never marked


def test_best_compares_only_with_the_runner_up() -> None:
    # a vs c is separated, a vs b (the runner-up) is not: nothing is marked
    a, b, c = [0.50, 0.60, 0.40], [0.49, 0.59, 0.39], [0.10, 0.11, 0.09]
    assert _welch(a, c) < 0.05 < _welch(a, b)
    assert best_rows(_sec([_row("a", a), _row("b", b), _row("c", c)]), NDCG) == set()
    assert best_rows(_sec([_row("c", c), _row("a", a)]), NDCG) == {1}
    lo = "efficiency.unlearn_wall_s"
    rows = [_row("a", [1.0, 1.2, 0.8], metric=lo), _row("b", [1.05, 1.25, 0.85], metric=lo),
            _row("c", [9.0, 9.1, 8.9], metric=lo)]
    assert best_rows(_sec(rows, lo), lo) == set()


def test_best_withheld_when_overlapping_tied_or_alone() -> None:
    noisy = [_row("a", [0.31, 0.40, 0.22]), _row("b", [0.30, 0.33, 0.27])]
    assert _welch([0.31, 0.40, 0.22], [0.30, 0.33, 0.27]) > 0.05
    assert best_rows(_sec(noisy), NDCG) == set()
    tie = [_row("a", [0.3, 0.3, 0.3]), _row("b", [0.2, 0.3, 0.4])]  # equal means
    assert best_rows(_sec(tie), NDCG) == set()
    alone = [_row("retrain", [0.1, 0.2, 0.3], role="reference"), _row("a", [0.4, 0.4, 0.4])]
    assert best_rows(_sec(alone), NDCG) == set()
    one_seed = [_row("a", [0.9]), _row("b", [0.1])]  # a single seed never separates
    assert best_rows(_sec(one_seed), NDCG) == set()
    const = [_row("a", [0.9, 0.9]), _row("b", [0.1, 0.1])]  # constant and different: 0
    assert best_rows(_sec(const), NDCG) == {0}


def test_best_at_the_alpha_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    sec = _sec([_row("a", [0.5, 0.6, 0.4]), _row("b", [0.1, 0.2, 0.0])])
    seen = []

    def fake(p: float):
        def welch(a: tuple, b: tuple) -> float:
            seen.append((a, b))
            return p
        return welch

    monkeypatch.setattr(build, "welch_p", fake(0.05))
    assert best_rows(sec, NDCG) == set()  # p < 0.05 is required
    assert seen == [((0.5, 0.6, 0.4), (0.1, 0.2, 0.0))]  # best first, the runner-up second
    monkeypatch.setattr(build, "welch_p", fake(0.0499999))
    assert best_rows(sec, NDCG) == {0}
    assert build.SEPARATION_ALPHA == 0.05


def test_best_skips_rows_without_a_value_and_undirected_metrics() -> None:
    rows = [_row("a", [0.9, 0.91, 0.89]), _row("b", [0.5, 0.51, 0.49]),
            Row("bpr", "c", "method", (0, 1, 2), {NDCG: Stat(None, None, 2)})]
    assert best_rows(_sec(rows), NDCG) == {0}
    missing = [Row("bpr", "x", "method", (0, 1, 2), {NDCG: Stat(None, None, 0)})] + rows[:2]
    assert best_rows(_sec(missing), NDCG) == {1}
    for d in ("none", "sideways"):
        assert best_rows(_sec(rows, NDCG, d), NDCG) == set()
    assert best_rows(Section("t", "k", (0,), (NDCG,), {}, tuple(rows)), NDCG) == set()
    empty = [Row("bpr", "c", "method", (0, 1, 2), {NDCG: Stat(None, None, 2)})]
    assert best_rows(_sec(empty), NDCG) == set()


def test_best_of_a_target_is_closest_to_its_ideal() -> None:
    gap = "completeness.mia_auc_gap"  # ideal 0: |−0.05| < |0.1| < |0.2|
    rows = [_row("a", [0.2, 0.21, 0.19], metric=gap), _row("b", [-0.05, -0.06, -0.04],
                                                          metric=gap),
            _row("c", [0.1, 0.11, 0.09], metric=gap)]
    assert best_rows(_sec(rows, gap), gap) == {1}
    # separation is judged on per-seed distances: raw values ±0.1 around 0 are all close
    # to the ideal (distances 0.1, 0.1, 0.1) vs a row at 0.3 ± 0.01 -> separated
    cal = "completeness.calibrated"
    rows = [_row("x", [0.1, -0.1, 0.1], metric=cal), _row("y", [0.31, 0.3, 0.29], metric=cal)]
    assert best_rows(_sec(rows, cal), cal) == {0}
    # rows are ranked by their mean's distance: both means at the ideal tie, whatever the
    # per-seed distances (0.1 vs 0.2)
    rows = [_row("x", [0.1, -0.1, 0.1, -0.1], metric=cal),
            _row("y", [0.2, -0.2, 0.2, -0.2], metric=cal)]
    assert best_rows(_sec(rows, cal), cal) == set()
    ratio = "completeness.forgotten_rank_ratio"  # ideal 1: 1.2 beats 0.5 and 2.0
    rows = [_row(n, [v - 0.01, v, v + 0.01], metric=ratio) for n, v in
            (("a", 0.5), ("b", 1.2), ("c", 2.0))]
    assert best_rows(_sec(rows, ratio, "target"), ratio) == {1}


def test_best_target_is_withheld_when_the_seeds_say_otherwise() -> None:
    """Bug fixed in issue 17: x's mean (0) is closer to the ideal than y's (0.05), but each
    of x's seeds is 0.3 away and each of y's about 0.05; Welch's test on those distances
    separates them (p ≈ 1e-5) — with y the closer one. x was marked best; now nothing is."""
    cal = "completeness.calibrated"
    x, y = [0.3, -0.3, 0.3, -0.3], [0.05, 0.06, 0.04, 0.05]
    assert _welch([abs(v) for v in x], [abs(v) for v in y]) < 1e-4
    rows = [_row("x", x, metric=cal), _row("y", y, metric=cal)]
    assert best_rows(_sec(rows, cal), cal) == set()
    # the same rows with y's seeds further out than x's: x is best by both, and marked
    far = [_row("x", x, metric=cal), _row("y", [0.5, 0.51, 0.49, 0.5], metric=cal)]
    assert best_rows(_sec(far, cal), cal) == {0}


def test_best_target_against_each_models_retrain() -> None:
    m = "utility.forgotten.ndcg@20"  # ideal: the same model's retrain reference mean
    rows = [_row("retrain", [0.10, 0.10, 0.10], role="reference", metric=m),
            _row("retrain", [0.50, 0.50, 0.50], role="reference", model="wmf", metric=m),
            _row("a", [0.30, 0.31, 0.29], metric=m),           # bpr: 0.2 away
            _row("b", [0.14, 0.15, 0.13], metric=m),           # bpr: 0.04 away
            _row("c", [0.49, 0.50, 0.51], model="wmf", metric=m),  # wmf: 0 away
            _row("d", [0.30, 0.30, 0.31], model="lgn", metric=m)]  # no retrain: skipped
    assert best_rows(_sec(rows, m), m) == {4}
    assert best_rows(_sec(rows[:4], m), m) == {3}
    assert best_rows(_sec([rows[2], rows[3], rows[5]], m), m) == set()  # no retrain row


# ---------------------------------------------------------------------------- ideal values


def _retrain_section(metric: str, mean: float | None, model: str = "bpr",
                     role: str = "reference", method: str = "retrain") -> Section:
    st = Stat(mean, 0.0, 3, 0.0, (mean,) * 3) if mean is not None else Stat(None, None, 2)
    return Section("t", "k", (0, 1, 2), (metric,), {metric: "target"},
                   (Row(model, method, role, (0, 1, 2), {metric: st}),))


@pytest.mark.parametrize("metric, ideal", [
    ("completeness.mia_auc_gap", 0.0), ("fairness.x_lift", 0.0),
    ("completeness.mia_auc_gap.forgotten", 0.0), ("completeness.calibrated", 0.0),
    ("completeness.calibrated_pairs", 0.0), ("calibrated", 0.0),
    ("completeness.forgotten_rank_ratio", 1.0), ("completeness.rank_ratio.x", 1.0),
    ("utility.forgotten.ndcg@20", 0.25), ("completeness.calibrated.verdict", 0.25),
    ("completeness.gap_size", 0.25), ("completeness.lift_x", 0.25),
])
def test_target_value(metric: str, ideal: float) -> None:
    assert target_value(_retrain_section(metric, 0.25), metric, "bpr") == ideal


def test_target_value_needs_the_same_models_retrain_reference() -> None:
    m = "utility.forgotten.ndcg@20"
    assert target_value(_retrain_section(m, 0.25, model="wmf"), m, "bpr") is None
    assert target_value(_retrain_section(m, 0.25, role="method"), m, "bpr") is None
    assert target_value(_retrain_section(m, 0.25, method="original"), m, "bpr") is None
    assert target_value(_retrain_section(m, None), m, "bpr") is None
    two = _retrain_section(m, 0.25)
    two = Section("t", "k", two.seeds, two.metrics, two.directions,
                  two.rows + _retrain_section(m, 0.5, model="wmf").rows)
    assert target_value(two, m, "wmf") == 0.5 and target_value(two, m, "bpr") == 0.25


# ---------------------------------------------------------------------------- sections


def _board() -> list[dict[str, Any]]:
    """Two models, references and methods, three seeds, one missing metric, one failure."""
    recs = []
    vals = {("original", "original"): [0.50, 0.52, 0.54], ("retrain", "retrain"): [0.40, 0.42,
                                                                                    0.44],
            ("method", "zeta"): [0.30, 0.33, 0.36], ("method", "alpha"): [0.41, 0.42, 0.43]}
    for (kind, name), vs in vals.items():
        for s, v in enumerate(vs):
            metrics = {NDCG: v, "efficiency.unlearn_wall_s": 2.0 + s}
            if name == "zeta" and s == 1:
                del metrics["efficiency.unlearn_wall_s"]  # one seed lacks it
            recs.append(_rec(s, metrics, kind=kind, method=name))
    for s, v in enumerate([0.2, 0.1, 0.3]):
        recs.append(_rec(s, {NDCG: v}, model="als", method="alpha"))
    recs.append(_failed(_rec(2, {NDCG: 0.0}, model="als", method="beta")))
    recs.append(_rec(0, {NDCG: 0.9}, model="als", method="beta"))
    recs.append(_rec(1, {NDCG: 0.8}, model="als", method="beta"))
    return recs


def test_rows_order_seeds_and_values() -> None:
    lb = build_leaderboard(_board())
    (sec,) = lb.sections
    assert sec.seeds == (0, 1, 2) and lb.n_records == len(_board()) == 18
    assert [(r.model, r.role, r.method) for r in sec.rows] == [
        ("als", "method", "alpha"), ("als", "method", "beta"),
        ("bpr", "reference", "original"), ("bpr", "reference", "retrain"),
        ("bpr", "method", "alpha"), ("bpr", "method", "zeta")]
    assert [r.label for r in sec.rows][2:4] == ["original (reference)", "retrain (reference)"]
    assert sec.metrics == (NDCG, "efficiency.unlearn_wall_s")
    assert sec.directions == {NDCG: "higher", "efficiency.unlearn_wall_s": "lower"}
    rows = {(r.model, r.method, r.role): r for r in sec.rows}
    zeta = rows[("bpr", "zeta", "method")]
    assert zeta.seeds == (0, 1, 2) and zeta.failed == ()
    assert zeta.values[NDCG] == Stat(0.33, 0.03, 3, round(T975[2] * 0.03 / math.sqrt(3), 6),
                                     (0.3, 0.33, 0.36))
    assert zeta.values["efficiency.unlearn_wall_s"] == Stat(None, None, 2)
    alpha = rows[("bpr", "alpha", "method")]
    assert alpha.values["efficiency.unlearn_wall_s"] == Stat(3.0, 1.0, 3, 2.484138,
                                                             (2.0, 3.0, 4.0))
    als = rows[("als", "alpha", "method")]
    assert als.values[NDCG].mean == 0.2 and als.values[NDCG].std == 0.1
    assert als.values["efficiency.unlearn_wall_s"] == Stat(None, None, 0)
    beta = rows[("als", "beta", "method")]  # seed 2 failed: seeds 0, 1 only, empty cells
    assert beta.seeds == (0, 1) and beta.failed == ((2, "ValueError"),)
    assert beta.values[NDCG] == Stat(None, None, 0)
    assert best_rows(sec, NDCG) == {4} and best_rows(sec, "efficiency.unlearn_wall_s") == set()


def test_failed_records_and_their_error_type() -> None:
    ok = [_rec(s, {NDCG: 0.1 * s}) for s in range(2)]
    bad = _failed(_rec(2, {NDCG: 0.0}), etype=None)
    (sec,) = build_leaderboard(ok + [bad]).sections
    (row,) = sec.rows
    assert sec.seeds == (0, 1, 2) and row.seeds == (0, 1) and row.failed == ((2, "?"),)
    nothing = dict(_rec(2, {NDCG: 0.0}), metrics={}, status="error")  # no error object
    assert build_leaderboard(ok + [nothing]).sections[0].rows[0].failed == ((2, "?"),)
    assert is_failed(bad) and not is_failed(ok[0])
    assert not is_failed(dict(ok[0], status="ok"))
    # the splits cited are those of successful records (all records if every one failed)
    other = _failed(_rec(2, {NDCG: 0.0}, split={"id": "other", "sha256": "x"}))
    assert build_leaderboard(ok + [other]).sections[0].splits == (("syn-random", "s0"),)
    alone = build_leaderboard([other]).sections[0]
    assert alone.splits == (("other", "x"),) and alone.rows[0].seeds == ()
    assert alone.dataset == (("name", "syn"), ("version", "1"), ("sha256", "d0"))


def test_section_dataset_splits_and_protocol() -> None:
    recs = [_rec(0, {NDCG: 0.1}, split={"id": "b", "sha256": "2"}),
            _rec(1, {NDCG: 0.2}, split={"id": "a", "sha256": "1"}),
            _rec(2, {NDCG: 0.3}, split={"id": "b", "sha256": "2"}, method="z")]
    (sec,) = build_leaderboard(recs).sections
    assert sec.splits == (("a", "1"), ("b", "2"))  # distinct, sorted
    assert sec.dataset == (("name", "syn"), ("version", "1"), ("sha256", "d0"))
    assert sec.protocol == LEGACY_PROTOCOL
    bare = _rec(0, {NDCG: 0.1}, dataset={"name": "syn"}, split={"x": "y"})
    (sec,) = build_leaderboard([bare]).sections
    assert sec.dataset == (("name", "syn"), ("version", ""), ("sha256", ""))
    assert sec.splits == (("", ""),)
    p2 = {"evaluation_protocol": "cure4rec-eval/2"}
    lb = build_leaderboard([_rec(0, {NDCG: 0.1}, info=p2)])
    assert lb.sections[0].protocol == "cure4rec-eval/2" and lb.protocols == ("cure4rec-eval/2",)
    assert protocol_of({"info": None}) is None and protocol_of({}) is None


def _settings_hash(*, forget_seed: Any = 0, protocol: str | None = None,
                   options: dict | None = None, params: dict | None = None) -> str:
    """The 8-hex settings hash of `_cell`'s records, from the settings listed by hand."""
    s: dict[str, Any] = {"split": {"protocol": None, "ratios": None, "seed": 0},
                         "evaluator": {}, "references": {}, "fairness": {}, "stream": None,
                         "params": params or {}, "forget_seed": forget_seed}
    if protocol is not None:
        s["protocol"] = protocol
    if options:
        s["forget_options"] = options
    return hashlib.sha256(json.dumps(s, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()[:8]


def test_section_keys_and_titles_exactly() -> None:
    def one(**kw: Any) -> Section:
        info = kw.pop("info", None)
        return build_leaderboard([_rec(0, {NDCG: 0.1}, info=info, **kw)]).sections[0]

    h = _settings_hash()
    s = one()
    assert (s.key, s.title) == (f"syn|1|random|0.050000|{h}", f"syn v1 · random 5% · settings {h}")
    h = _settings_hash(forget_seed=3)
    s = one(forget={"strategy": "core", "fraction": 0.125, "seed": 3})
    assert (s.key, s.title) == (f"syn|1|core|0.125000|{h}", f"syn v1 · core 12.5% · settings {h}")
    s = one(forget={"strategy": "core", "fraction": None})  # no seed: 0; no fraction: all
    h = _settings_hash()
    assert (s.key, s.title) == (f"syn|1|core|all|{h}", f"syn v1 · core all · settings {h}")
    opts = {"b": 2, "a": "x"}
    h = _settings_hash(options=opts)
    s = one(forget={"strategy": "popular", "fraction": 0.5, "seed": 0, "options": opts})
    assert (s.key, s.title) == (f"syn|1|popular|0.500000|{h}",
                                f"syn v1 · popular (a=x, b=2) 50% · settings {h}")
    h = _settings_hash(params={"n_users": 9})
    assert one(ds_params={"n_users": 9}).key == f"syn|1|random|0.050000|{h}"
    # a protocol is part of the key and the title; a random forget set is then drawn from the
    # cell seed, so its forget seed is not a setting
    p2 = {"evaluation_protocol": "cure4rec-eval/2"}
    h = _settings_hash(forget_seed="cell", protocol="cure4rec-eval/2")
    s = one(info=p2, forget={"strategy": "random", "fraction": 0.05, "seed": 7})
    assert (s.key, s.title) == (f"syn|1|random|0.050000|{h}",
                                f"syn v1 · random 5% · settings {h} · cure4rec-eval/2")
    h = _settings_hash(forget_seed=7, protocol="cure4rec-eval/2")
    s = one(info=p2, forget={"strategy": "core", "fraction": 0.05, "seed": 7})
    assert s.key == f"syn|1|core|0.050000|{h}"
    rec = _rec(0, {NDCG: 0.1})
    del rec["cell"]["dataset"]["params"]  # no params: as {}
    assert build_leaderboard([rec]).sections[0].key == f"syn|1|random|0.050000|{_settings_hash()}"
    s = one(dataset={"name": "ml", "sha256": "0"})
    assert s.key.startswith("ml||random|") and s.title.startswith("ml v · random 5% ·")


def test_sections_are_sorted_by_key_and_grouped() -> None:
    recs = [_rec(0, {NDCG: 0.1}, forget={"strategy": "random", "fraction": 0.1, "seed": 0}),
            _rec(0, {NDCG: 0.2}, dataset={"name": "abc", "version": "1", "sha256": "0"}),
            _rec(0, {NDCG: 0.3}, forget={"strategy": "core", "fraction": 0.1, "seed": 0}),
            _rec(1, {NDCG: 0.4}, forget={"strategy": "core", "fraction": 0.1, "seed": 0}),
            _rec(0, {NDCG: 0.5})]
    lb = build_leaderboard(recs)
    keys = [s.key.rsplit("|", 1)[0] for s in lb.sections]
    assert keys == ["abc|1|random|0.050000", "syn|1|core|0.100000", "syn|1|random|0.050000",
                    "syn|1|random|0.100000"]
    assert [len(s.rows[0].seeds) for s in lb.sections] == [1, 2, 1, 1]
    assert lb.sections[1].rows[0].values[NDCG].mean == 0.35
    assert lb.sections[2].rows[0].values[NDCG].mean == 0.5


def test_labels_and_varying_keys() -> None:
    recs = [_rec(0, {NDCG: 0.1}, method="sisa", mconf={"shards": 2, "lr": 0.1, "z": [1]}),
            _rec(0, {NDCG: 0.2}, method="sisa", mconf={"shards": 4, "lr": 0.1, "z": [1]}),
            _rec(0, {NDCG: 0.3}, method="scif", mconf={"k": 1, "lr": 0.1}),
            _rec(0, {NDCG: 0.4}, method="scif", mconf={"k": 1}),
            _rec(0, {NDCG: 0.5}, method="neg", mconf={"lr": 0.1}),
            _rec(0, {NDCG: 0.6}, method="neg", mconf={"lr": 0.2}, dim=16),
            _rec(0, {NDCG: 0.7}, method="u", mconf={"x": 1, "y": 2}),
            _rec(0, {NDCG: 0.8}, method="u", mconf={"x": 2, "y": 3})]
    (sec,) = build_leaderboard(recs).sections
    got = [(r.model, r.method) for r in sec.rows]
    assert got == [("bpr(dim=16)", "neg(lr=0.2)"), ("bpr(dim=8)", "neg(lr=0.1)"),
                   ("bpr(dim=8)", "scif"), ("bpr(dim=8)", "scif(lr=0.1)"),
                   ("bpr(dim=8)", "sisa(shards=2)"), ("bpr(dim=8)", "sisa(shards=4)"),
                   ("bpr(dim=8)", "u(x=1, y=2)"), ("bpr(dim=8)", "u(x=2, y=3)")]
    # a component without any config next to one of the same name with a key: the key varies
    bare = [_rec(0, {NDCG: 0.1}, method="m", mconf={"a": 1}), _rec(0, {NDCG: 0.2}, model="als")]
    del bare[1]["cell"]["method"]["config"]
    bare[1]["cell"]["method"]["name"] = "m"
    assert sorted(r.method for r in build_leaderboard(bare).sections[0].rows) == ["m", "m(a=1)"]
    same = [_rec(s, {NDCG: 0.1}, method="m", mconf={"a": 1.0}) for s in range(2)]
    assert build_leaderboard(same).sections[0].rows[0].method == "m"  # nothing varies
    # 1 and 1.0 are different values (canonical JSON), so the key varies
    diff = [_rec(0, {NDCG: 0.1}, method="m", mconf={"a": 1}),
            _rec(0, {NDCG: 0.1}, method="m", mconf={"a": 1.0}, model="als")]
    assert {r.method for r in build_leaderboard(diff).sections[0].rows} == {"m(a=1)",
                                                                            "m(a=1.0)"}


def test_card_names_label_rows_and_own_reference_mark() -> None:
    card = {"method_provenance": {"card": "myforget"}}
    recs = [_rec(s, {NDCG: 0.1 + s / 10}, method="lab.x:Forget", info=card) for s in range(2)]
    (sec,) = build_leaderboard(recs).sections
    assert [r.method for r in sec.rows] == ["myforget"] and sec.rows[0].seeds == (0, 1)
    assert card_name(recs[0]) == "myforget"
    assert card_name(_rec(0, {}, method="lab.x:Forget")) == "lab.x:Forget"
    assert card_name(_rec(0, {}, method="m", info={"method_provenance": {"card": ""}})) == "m"
    assert card_name(_rec(0, {}, method="m", info={"method_provenance": None})) == "m"
    assert card_name(dict(_rec(0, {}, method="m"), info=None)) == "m"
    own = [_rec(s, {NDCG: 0.1}, method="sisa", info={"reference_kind": "method"})
           for s in range(2)]
    plain = [_rec(s, {NDCG: 0.1}, method="sisa", info={"reference_kind": "retrain"})
             for s in range(2)]
    assert [r.method for r in build_leaderboard(own + plain).sections[0].rows] == [
        "sisa", "sisa*"]


def test_metric_order() -> None:
    metrics = {"zz.b": 1.0, "fairness.b": 1.0, "efficiency.a": 1.0, "utility.b": 1.0,
               "utility.a": 1.0, "completeness.z": 1.0, "aa.x": 1.0, "fairness.a": 1.0}
    a = _rec(0, {k: metrics[k] for k in list(metrics)[:4]})
    b = _rec(0, {k: metrics[k] for k in list(metrics)[4:]}, method="b")
    (sec,) = build_leaderboard([a, b]).sections
    assert sec.metrics == ("completeness.z", "utility.a", "utility.b", "efficiency.a",
                           "fairness.a", "fairness.b", "aa.x", "zz.b")
    assert sec.rows[0].values["utility.a"] == Stat(None, None, 0)  # a lacks it: n 0


def test_direction_of() -> None:
    assert direction_of("utility.ndcg@20") == "higher"
    assert direction_of("efficiency.unlearn_wall_s") == "lower"
    assert direction_of("completeness.calibrated") == "target"
    assert direction_of("zeta.x") == "none"


# ---------------------------------------------------------------------------- the header


def test_versions_protocols_and_fingerprint_by_hand() -> None:
    recs = [_rec(0, {NDCG: 0.1}, version="0.2.0"),
            _rec(1, {NDCG: 0.2}, version="0.1.0",
                 info={"evaluation_protocol": "cure4rec-eval/2", "reference_kind": "retrain",
                       "method_provenance": {"card": "c"}}),
            _failed(_rec(2, {NDCG: 0.3}, version="0.1.0"), "KeyError")]
    nover = dict(_rec(3, {NDCG: 0.4}), package={})
    lb = build_leaderboard(recs + [nover])
    assert lb.versions == ("0.1.0", "0.2.0", "?")
    nopkg = {k: v for k, v in _rec(4, {NDCG: 0.4}).items() if k != "package"}
    assert build_leaderboard([nopkg]).versions == ("?",)
    assert lb.protocols == (LEGACY_PROTOCOL, "cure4rec-eval/2")
    assert lb.n_records == 4
    read = ("config_hash", "kind", "cell", "dataset", "split", "seed", "metrics")
    views = []
    for r in recs + [nover]:
        v = {k: r[k] for k in read}
        if r is recs[1]:
            v.update(reference_kind="retrain", evaluation_protocol="cure4rec-eval/2", card="c")
        if r is recs[2]:
            v.update(status="error", error_type="KeyError")
        views.append(v)
    views.sort(key=lambda v: v["config_hash"])
    want = hashlib.sha256(json.dumps(views, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()
    assert lb.fingerprint == fingerprint(recs + [nover]) == want
    assert fingerprint(list(reversed(recs))) == fingerprint(recs)
    # what is not read does not change it; what is read does
    assert fingerprint([dict(recs[0], timings={"x": 1}, environment={"y": 2})]) == \
        fingerprint([recs[0]])
    assert fingerprint([dict(recs[0], status="error")]) != fingerprint([recs[0]])
    assert fingerprint([dict(recs[0], metrics={NDCG: 0.11})]) != fingerprint([recs[0]])


# ---------------------------------------------------------------------------- the bytes


def test_small_leaderboard_csv_bytes() -> None:
    """The CSV of a two-method board, every number worked by hand."""
    from cure4rec.leaderboard import render_all

    recs = [_rec(s, {NDCG: v}, kind="retrain", method="retrain")
            for s, v in enumerate([0.4, 0.5, 0.6])]
    recs += [_rec(s, {NDCG: v, "efficiency.unlearn_wall_s": w}, method="a")
             for s, (v, w) in enumerate([(0.3, 1.0), (0.3, 2.0), (0.6, 3.0)])]
    recs += [_rec(s, {NDCG: v}, method="b") for s, v in enumerate([0.1, 0.2])]
    h = _settings_hash()
    sec = f"syn v1 · random 5% · settings {h},{LEGACY_PROTOCOL},bpr"
    # retrain: mean 0.5, sd 0.1, h = 4.302653·0.1/√3 = 0.248414
    # a: mean 0.4, sd √((0.01 + 0.01 + 0.04) / 2) = 0.173205, h = 0.430265; wall 2 ± 2.484138
    # b: seed 2 missing -> n 2 of 3, empty
    want = (
        "section,protocol,model,method,role,metric,aspect,direction,n,n_expected,mean,std,ci95\n"
        f"{sec},retrain,reference,{NDCG},utility,higher,3,3,0.5,0.1,0.248414\n"
        f"{sec},a,method,{NDCG},utility,higher,3,3,0.4,0.173205,0.430265\n"
        f"{sec},a,method,efficiency.unlearn_wall_s,efficiency,lower,3,3,2.0,1.0,2.484138\n"
        f"{sec},b,method,{NDCG},utility,higher,2,3,,,\n"
        f"{sec},b,method,efficiency.unlearn_wall_s,efficiency,lower,2,3,,,\n")
    shuffled = recs[:]
    random.Random(3).shuffle(shuffled)
    out = render_all(shuffled, image=lambda name, data: f"plot:{name}")
    assert out["leaderboard.csv"] == want
    assert out == render_all(recs, image=lambda name, data: f"plot:{name}")  # same bytes
    md = out["leaderboard.md"]
    assert "| a | 3/3 | 0.4000 ± 0.4303 |" in md
    assert "| *retrain (reference)* | 3/3 | 0.5000 ± 0.2484 |" in md
    assert "| b | 2/3 |  |" in md
