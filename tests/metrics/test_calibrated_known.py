"""Known answers for the published headline ``completeness.calibrated`` (issue 17).

Every expected value is computed by hand or by the few-line numpy re-implementation below,
written from docs/metrics.md / DESIGN.md ("Calibrated completeness"), never by the code under
test. With N = 3 references the Student t with 2 degrees of freedom has the closed form
``sf(t) = ½ (1 − t / √(t² + 2))``, so the p-values are checked without scipy as well.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cure4rec.data.interactions import Interactions
from cure4rec.metrics.calibrated import (
    ALPHA,
    NOISE_FLOOR,
    ReferenceStats,
    calibrate,
    candidate_history,
    example_stats,
    forget_percentiles,
    headline_unit,
    null_scores,
    positions,
    rank_score,
)
from cure4rec.metrics.evaluator import calibrated_metrics
from tests.metrics._fixed import Fixed


def _inter(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    if not pairs:
        return Interactions.from_pairs([], [], n_users, n_items)
    u, i = zip(*pairs)
    return Interactions.from_pairs(list(u), list(i), n_users, n_items)


# --- the independent reference implementation (from the definition) -----------------------

def _pct(scores: np.ndarray, forget: list[tuple[int, int]],
         hist: list[tuple[int, int]]) -> np.ndarray:
    out = []
    for u, i in forget:
        own = {j for v, j in forget if v == u}
        seen = {j for v, j in hist if v == u}
        cand = [j for j in range(scores.shape[1]) if j not in seen or j in own]
        o = scores[u, i]
        lower = sum(scores[u, j] < o for j in cand)
        tied_others = sum(scores[u, j] == o for j in cand) - 1
        out.append((lower + 0.5 * tied_others) / (len(cand) - 1))
    return np.array(out)


def _users(pct: np.ndarray, forget: list[tuple[int, int]]) -> np.ndarray:
    us = sorted({u for u, _ in forget})
    return np.array([np.mean([p for p, (u, _) in zip(pct, forget) if u == v]) for v in us])


def _score(vals: np.ndarray, refs: np.ndarray) -> float:
    n = refs.shape[0]
    pos = [(np.sum(refs[:, e] < v) + 0.5 * np.sum(refs[:, e] == v)) / n
           for e, v in enumerate(vals)]
    return 2 * float(np.mean(pos)) - 1


def _calib(vals: np.ndarray, refs: np.ndarray) -> tuple[float, float, float, float]:
    n = refs.shape[0]
    null = np.array([_score(refs[j], np.delete(refs, j, 0)) for j in range(n)])
    noise = max(float(np.std(null, ddof=1)), 1e-3)
    s = _score(vals, refs)
    z = s / (noise * np.sqrt(1 + 1 / n))
    if n == 3:  # t with 2 d.o.f., closed form
        p = 1 - abs(z) / np.sqrt(z * z + 2)
    else:
        from scipy.stats import t
        p = 2 * t.sf(abs(z), n - 1)
    return s, z, p, noise


# --- hand-computed values ------------------------------------------------------------------

REFS = np.array([[0.2, 0.6], [0.4, 0.8], [0.6, 0.4]])


def test_positions_and_score_by_hand() -> None:
    # e0: 0.4 is above 0.2, ties 0.4, below 0.6 -> (1 + .5)/3 = .5; e1: 0.9 above all -> 1
    assert positions(np.array([0.4, 0.9]), REFS).tolist() == [0.5, 1.0]
    assert rank_score(np.array([0.4, 0.9]), REFS) == pytest.approx(2 * 0.75 - 1, abs=1e-15)
    assert rank_score(np.array([0.0, 0.0]), REFS) == -1.0
    assert rank_score(np.array([1.0, 1.0]), REFS) == 1.0
    assert rank_score(np.zeros(0), np.zeros((3, 0))) == 0.0


def test_leave_one_out_null_by_hand() -> None:
    # R0=[.2,.6] vs {R1,R2}: e0 below both (0), e1 above .4 only (.5) -> 2*.25-1 = -.5
    # R1=[.4,.8] vs {R0,R2}: e0 .5, e1 1 -> +.5 ;  R2=[.6,.4] vs {R0,R1}: 1, 0 -> 0
    assert null_scores(REFS) == pytest.approx([-0.5, 0.5, 0.0], abs=1e-15)


def test_calibrate_by_hand_n3() -> None:
    # null [-.5, .5, 0] -> sd (ddof 1) = sqrt(.5/2) = .5; score of [.7,.9] = +1;
    # z = 1 / (.5 * sqrt(4/3)) = sqrt(3); p = 1 - sqrt(3)/sqrt(5) (t, 2 d.o.f.)
    r = calibrate(np.array([0.7, 0.9]), REFS)
    assert r.noise == pytest.approx(0.5, abs=1e-12)
    assert r.score == 1.0
    assert r.z == pytest.approx(np.sqrt(3.0), rel=1e-12)
    assert r.p == pytest.approx(1 - np.sqrt(3.0 / 5.0), rel=1e-12)
    assert (r.n_references, r.n_examples) == (3, 2)
    assert r.verdict == "indistinguishable" and r.verdict_code == 0
    # the mirror image: every value below every reference, same |z|, opposite sign
    m = calibrate(np.array([0.1, 0.1]), REFS)
    assert (m.score, m.z) == (-1.0, pytest.approx(-np.sqrt(3.0), rel=1e-12))
    assert m.p == pytest.approx(r.p, rel=1e-12)


def test_verdicts_two_sided_with_the_noise_floor() -> None:
    # deterministic references: null all 0 -> noise = NOISE_FLOOR = 1e-3
    refs = np.full((3, 4), 0.5)
    up = calibrate(np.array([0.5, 0.5, 0.9, 0.5]), refs)
    # score = 2 * (3*.5 + 1)/4 - 1 = .25 ; z = .25 / (1e-3 * sqrt(4/3))
    z = 0.25 / (1e-3 * np.sqrt(4 / 3))
    assert up.noise == NOISE_FLOOR == 1e-3
    assert up.score == pytest.approx(0.25, abs=1e-15)
    assert up.z == pytest.approx(z, rel=1e-12)
    assert up.p == pytest.approx(1 - z / np.sqrt(z * z + 2), rel=1e-9)
    assert up.p < ALPHA == 0.05
    assert up.verdict == "remembers" and up.verdict_code == 1
    down = calibrate(np.array([0.5, 0.1, 0.5, 0.5]), refs)
    assert down.score == pytest.approx(-0.25, abs=1e-15)
    assert down.verdict == "over-forgets" and down.verdict_code == -1
    same = calibrate(np.full(4, 0.5), refs)
    assert (same.score, same.z, same.p, same.verdict) == (0.0, 0.0, 1.0, "indistinguishable")


def test_verdict_threshold_at_alpha() -> None:
    # N = 3, noise .5 (REFS): z needed for p = .05 with 2 d.o.f. is 4.3027; the largest
    # possible score (1) gives z = sqrt(3) -> never significant: indistinguishable both ways.
    for v in ([0.9, 0.9], [0.0, 0.0]):
        assert calibrate(np.array(v), REFS).verdict == "indistinguishable"
    # an explicit null with tiny spread makes the same score significant
    r = calibrate(np.array([0.9, 0.9]), REFS, null=np.array([-0.01, 0.01, 0.0]))
    assert r.noise == pytest.approx(0.01, rel=1e-12)
    assert r.z == pytest.approx(1 / (0.01 * np.sqrt(4 / 3)), rel=1e-12)
    assert r.verdict == "remembers"


def test_as_metrics_values() -> None:
    r = calibrate(np.array([0.7, 0.9]), REFS)
    m = r.as_metrics("completeness.calibrated")
    assert m == {"completeness.calibrated": 1.0,
                 "completeness.calibrated.z": pytest.approx(np.sqrt(3.0), rel=1e-12),
                 "completeness.calibrated.p": pytest.approx(1 - np.sqrt(0.6), rel=1e-12),
                 "completeness.calibrated.noise": pytest.approx(0.5, abs=1e-12),
                 "completeness.calibrated.verdict": 0.0,
                 "completeness.calibrated.n_examples": 2.0}
    assert calibrate(np.full(2, 0.0), np.full((3, 2), 0.5)).as_metrics("x")["x.verdict"] == -1.0


def test_percentiles_by_hand_with_history_and_ties() -> None:
    s = np.array([[0.9, 0.5, 0.5, 0.1, 0.7],
                  [0.3, 0.3, 0.3, 0.3, 0.3]])
    forget = [(0, 1), (0, 3), (1, 2)]
    hist = [(0, 0), (0, 4), (1, 0)]
    # user 0, candidates {1, 2, 3} (0 and 4 are history): item 1 = .5 ties item 2, above 3
    #   -> (1 + .5)/2 = .75 ; item 3 lowest -> 0 ; user 1, candidates {1,2,3,4}: all tied -> .5
    got = forget_percentiles(Fixed(s), _inter(forget, 2, 5), _inter(hist, 2, 5))
    assert got.tolist() == [0.75, 0.0, 0.5]
    # without the mask item 0 (.9) and item 4 (.7) join: item 1 -> (1 + .5)/4 = .375
    assert forget_percentiles(Fixed(s), _inter(forget, 2, 5)).tolist() == [0.375, 0.0, 0.5]
    assert example_stats(got, _inter(forget, 2, 5), "users").tolist() == [0.375, 0.5]
    assert example_stats(got, _inter(forget, 2, 5), "pairs").tolist() == got.tolist()


def test_own_forget_pairs_stay_candidates_even_in_history() -> None:
    s = np.array([[0.1, 0.2, 0.3, 0.4]])
    forget = [(0, 1), (0, 2)]
    hist = [(0, 1), (0, 3)]  # item 1 is both forgotten and (wrongly) in the history
    # candidates {0, 1, 2}: item 1 above 0 -> .5 ; item 2 above 0, 1 -> 1
    got = forget_percentiles(Fixed(s), _inter(forget, 1, 4), _inter(hist, 1, 4))
    assert got.tolist() == [0.5, 1.0]


def test_batches_and_chunks_do_not_change_values() -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(0, 4, size=(7, 9)).astype(float)  # many ties
    forget = [(u, int(i)) for u in range(7) for i in rng.choice(9, 2, replace=False)]
    hist = [(u, i) for u in range(7) for i in range(9)
            if (u, i) not in forget and rng.random() < 0.4]
    f, h = _inter(forget, 7, 9), _inter(hist, 7, 9)
    fl = list(zip(f.user.tolist(), f.item.tolist()))  # in the stored pair order
    assert sorted(fl) == sorted(forget)
    want = _pct(s, fl, hist)
    for bu, me in [(256, 8_000_000), (2, 9), (1, 1), (3, 20)]:
        got = forget_percentiles(Fixed(s), f, h, batch_users=bu, max_elements=me)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


@pytest.mark.parametrize("unit", ["users", "pairs"])
def test_reference_stats_end_to_end_matches_independent(unit: str) -> None:
    rng = np.random.default_rng(1)
    n_u, n_i, n_ref = 5, 8, 4
    refs = [rng.random((n_u, n_i)).round(1) for _ in range(n_ref)]
    model = rng.random((n_u, n_i)).round(1)
    f = _inter([(0, 1), (0, 2), (1, 3), (3, 0), (3, 7), (4, 4)], n_u, n_i)
    fl = list(zip(f.user.tolist(), f.item.tolist()))
    hl = [(u, i) for u in range(n_u) for i in range(n_i) if (u, i) not in fl and (u + i) % 3 == 0]
    h = _inter(hl, n_u, n_i)

    def stat(s: np.ndarray) -> np.ndarray:
        p = _pct(s, fl, hl)
        return _users(p, fl) if unit == "users" else p

    R = np.stack([stat(r) for r in refs])
    s, z, p, noise = _calib(stat(model), R)
    st = ReferenceStats.build([Fixed(r) for r in refs], f, h, unit)
    np.testing.assert_allclose(st.refs, R, rtol=0, atol=1e-15)
    got = st.score(Fixed(model), f, h)
    assert got.score == pytest.approx(s, abs=1e-12)
    assert got.noise == pytest.approx(noise, rel=1e-12)
    assert got.z == pytest.approx(z, rel=1e-12)
    assert got.p == pytest.approx(p, rel=1e-9)
    assert got.n_examples == R.shape[1] == (4 if unit == "users" else 6)


def test_published_keys_through_the_evaluator() -> None:
    """``calibrated_metrics``: the values the record carries, for a user request."""
    n_u, n_i = 3, 6
    forget = [(0, 1), (0, 2), (2, 5)]
    retain = [(0, 0), (1, 1), (2, 0), (2, 3)]
    valid = [(0, 4)]
    f, r, v = (_inter(x, n_u, n_i) for x in (forget, retain, valid))
    fs = SimpleNamespace(request=SimpleNamespace(forget=f, kind="users"), retain=r, valid=v,
                         sha256="x")
    assert headline_unit("users") == "users" and headline_unit("pairs") == "pairs"
    assert len(candidate_history(fs)) == 5
    rng = np.random.default_rng(2)
    refs = [rng.random((n_u, n_i)).round(1) for _ in range(3)]
    unl, orig = rng.random((n_u, n_i)).round(1), rng.random((n_u, n_i)).round(1)
    fl = list(zip(f.user.tolist(), f.item.tolist()))
    hist = retain + valid  # the validation pairs are excluded from the candidates too

    def stats(unit: str, s: np.ndarray) -> np.ndarray:
        p = _pct(s, fl, hist)
        return _users(p, fl) if unit == "users" else p

    out = calibrated_metrics(fs, Fixed(orig), Fixed(unl), [Fixed(x) for x in refs], {})
    for unit, pre in [("users", "completeness.calibrated"),
                      ("pairs", "completeness.calibrated_pairs")]:
        R = np.stack([stats(unit, x) for x in refs])
        s, z, p, _ = _calib(stats(unit, unl), R)
        assert out[pre] == pytest.approx(s, abs=1e-12)
        assert out[f"{pre}.z"] == pytest.approx(z, rel=1e-12)
        assert out[f"{pre}.p"] == pytest.approx(p, rel=1e-9)
    R = np.stack([stats("users", x) for x in refs])
    s, z, p, noise = _calib(stats("users", unl), R)
    assert out["completeness.calibrated.noise"] == pytest.approx(noise, rel=1e-12)
    assert out["completeness.calibrated.original"] == pytest.approx(
        _score(stats("users", orig), R), abs=1e-12)
    assert out["completeness.calibrated.n_references"] == 3.0
    assert out["completeness.calibrated.n_examples"] == 2.0
    code = 0 if p >= 0.05 else (1 if z > 0 else -1)
    assert out["completeness.calibrated.verdict"] == float(code)


def test_two_candidates_and_the_unit_error() -> None:
    # history leaves user 0 two candidates {0, 2}: item 2 is above item 0 -> 1 / (2 - 1) = 1
    s = np.array([[0.1, 0.9, 0.5]])
    f, h = _inter([(0, 2)], 1, 3), _inter([(0, 1)], 1, 3)
    assert forget_percentiles(Fixed(s), f, h).tolist() == [1.0]
    assert forget_percentiles(Fixed(s), _inter([(0, 0)], 1, 3), h).tolist() == [0.0]
    with pytest.raises(Exception, match=r"calibrated completeness unit 'items': use one of"):
        example_stats(np.zeros(1), f, "items")


@pytest.mark.parametrize("special", [None, np.inf, -np.inf])
def test_sorted_and_direct_paths_match_independent(special: float | None) -> None:
    """Finite scores take the one-sort-per-row path; a matrix with ±inf the direct
    comparisons. Both against the independent count, on many ties and a history."""
    rng = np.random.default_rng(3)
    s = rng.integers(0, 5, size=(11, 13)).astype(float)
    forget = [(u, int(i)) for u in range(11) for i in rng.choice(13, 1 + u % 4, replace=False)]
    hist = [(u, i) for u in range(11) for i in range(13)
            if (u, i) not in forget and rng.random() < 0.3]
    if special is not None:
        u, i = hist[0]
        s[u, i] = special  # a non-candidate cell: the values must not change
        s[1, [j for j in range(13) if (1, j) not in forget][0]] = special
    f, h = _inter(forget, 11, 13), _inter(hist, 11, 13)
    fl = list(zip(f.user.tolist(), f.item.tolist()))
    want = _pct(s, fl, hist)
    for bu in (256, 3, 1):
        got = forget_percentiles(Fixed(s), f, h, batch_users=bu)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
