"""Best-row marking: only when Welch's test over seeds separates it; CIs over seeds."""

from __future__ import annotations

import pytest

from cure4rec.leaderboard.build import Row, Section, _stat, best_rows, format_stat, welch_p


def _section(metric: str, direction: str, rows: dict[str, list[float]],
             retrain: list[float] | None = None) -> Section:
    out = [Row("bpr", name, "method", (0, 1, 2), {metric: _stat(list(v), 3)})
           for name, v in rows.items()]
    if retrain is not None:
        out.insert(0, Row("bpr", "retrain", "reference", (0, 1, 2),
                          {metric: _stat(list(retrain), 3)}))
    return Section("t", "k", (0, 1, 2), (metric,), {metric: direction}, tuple(out))


def test_ci_is_the_student_t_half_width() -> None:
    st = _stat([1.0, 2.0, 3.0], 3)
    # sd = 1, n = 3: t_{0.975, 2} = 4.302653 -> 4.302653 / sqrt(3) = 2.484138
    assert st.std == 1.0 and st.ci == pytest.approx(2.484138, abs=1e-6)
    assert format_stat(st) == "2.0000 ± 2.4841"
    assert _stat([1.0], 1).ci is None and format_stat(_stat([1.0], 1)) == "1.0000"


def test_best_only_when_separated() -> None:
    m = "utility.ndcg@20"
    close = _section(m, "higher", {"a": [0.30, 0.31, 0.29], "b": [0.30, 0.32, 0.28]})
    assert best_rows(close, m) == set()  # means 0.300 vs 0.300 ± noise: nothing bold
    noisy = _section(m, "higher", {"a": [0.31, 0.33, 0.29], "b": [0.30, 0.32, 0.28]})
    assert welch_p((0.31, 0.33, 0.29), (0.30, 0.32, 0.28)) > 0.05
    assert best_rows(noisy, m) == set()  # best mean 0.31 but not separated
    clear = _section(m, "higher", {"a": [0.40, 0.41, 0.39], "b": [0.30, 0.31, 0.29],
                                   "c": [0.20, 0.21, 0.19]})
    assert best_rows(clear, m) == {0}
    low = _section("efficiency.unlearn_wall_s", "lower", {"a": [5.0, 5.1, 4.9],
                                                           "b": [1.0, 1.1, 0.9]})
    assert best_rows(low, "efficiency.unlearn_wall_s") == {1}


def test_calibrated_target_is_zero_and_separation_uses_distances() -> None:
    m = "completeness.calibrated"
    s = _section(m, "target", {"noop": [0.9, 0.95, 1.0], "good": [0.02, -0.03, 0.01],
                               "over": [-0.8, -0.7, -0.9]}, retrain=[0.5, 0.5, 0.5])
    # the ideal is 0 (not the retrain row's value): "good" is closest, separated from "over"
    assert best_rows(s, m) == {2}
    tie = _section(m, "target", {"x": [0.1, -0.1, 0.0], "y": [-0.1, 0.1, 0.0]})
    assert best_rows(tie, m) == set()


def test_html_detail_table_marks_the_best_of_its_own_model() -> None:
    # Two models in one section: the detail table of each model marks the best of its own
    # rows (as the headline tables do), not the section-wide winner. Here WMF's rows are all
    # above BPR's, so a section-wide best would leave BPR's table without any bold.
    from cure4rec.leaderboard.render_html import _table

    m = "utility.ndcg@20"
    rows = tuple(Row(model, name, "method", (0, 1, 2), {m: _stat(v, 3)})
                 for model, name, v in (("bpr", "a", [0.30, 0.31, 0.29]),
                                        ("bpr", "b", [0.20, 0.21, 0.19]),
                                        ("wmf", "a", [0.50, 0.51, 0.49]),
                                        ("wmf", "b", [0.40, 0.41, 0.39])))
    sec = Section("t", "k", (0, 1, 2), (m,), {m: "higher"}, rows)
    assert best_rows(sec, m) == {2}
    for model, winner in (("bpr", "0.3000"), ("wmf", "0.5000")):
        html = "\n".join(_table(sec, [m], model))
        bold = [c for c in html.split("<td") if 'class="best"' in c]
        assert len(bold) == 1 and winner in bold[0], (model, html)
