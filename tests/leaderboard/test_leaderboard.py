"""Leaderboard logic: pure function of records; golden files; partial coverage; determinism.

Nothing here needs matplotlib: pages are rendered with each plot's <img> src replaced by a
structural placeholder and the plots are checked from the data they draw (the PNGs
themselves: test_plots.py). The goldens are written only by `update_goldens.py`.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from cure4rec.leaderboard.build import (
    Row,
    Section,
    Stat,
    _stat,
    best_rows,
    build_leaderboard,
    fingerprint,
)
from cure4rec.leaderboard.headline import (
    COLUMNS,
    column_section,
    delta_stat,
    headline_columns,
    headline_metrics,
    verdict_text,
)
from cure4rec.leaderboard.plots import (
    MAX_SERIES,
    efficiency_data,
    log_interval,
    pareto,
    tradeoff_data,
)
from cure4rec.leaderboard.render_md import headline_title
from cure4rec.runner.records import find_records, load_records
from tests._optional import require
from tests.leaderboard._golden import (
    GOLDEN,
    IMG,
    NAMES,
    ROOT,
    SIZES,
    fixture_records,
    placeholder,
    png_size,
    render,
    strip_pngs,
)

DOCS = ROOT / "docs" / "leaderboard"
_records = fixture_records


def render_all(records: list[dict]) -> dict[str, str]:
    """The three pages, HTML plots as placeholders (no matplotlib)."""
    from cure4rec.leaderboard import render_all as real

    return real(records, image=placeholder)


@pytest.mark.parametrize("name", NAMES)
def test_golden(name: str) -> None:
    assert render(_records())[name] == (GOLDEN / name).read_text()


def test_order_independent_and_twice_identical() -> None:
    recs = _records()
    shuffled = recs[:]
    random.Random(1).shuffle(shuffled)
    assert render_all(shuffled) == render_all(recs) == render_all(_records())
    assert fingerprint(shuffled) == fingerprint(recs)


def test_partial_coverage_is_empty() -> None:
    lb = build_leaderboard(_records())
    core = next(s for s in lb.sections if "vtoy · core" in s.title)
    row = next(r for r in core.rows if r.method == "sisa(shards=4)")
    assert row.seeds == (0,) and all(v.mean is None for v in row.values.values())
    rnd = next(s for s in lb.sections if "vtoy · random" in s.title)
    retrain = next(r for r in rnd.rows if r.method == "retrain" and r.role == "method")
    assert retrain.values["fairness.ugf_ndcg@20"].mean is None
    assert retrain.values["utility.ndcg@20"].n == 2
    assert [r.role for r in rnd.rows][:2] == ["reference", "reference"]


def test_csv_drops_only_metrics_no_seed_reports() -> None:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(render_all(_records())["leaderboard.csv"])))
    core = [r for r in rows if "vtoy · core" in r["section"]]
    partial = [r for r in core if r["method"] == "sisa(shards=4)"]
    assert partial and all((r["n"], r["n_expected"], r["mean"]) == ("1", "2", "")
                           for r in partial)  # a missing seed keeps its lines, empty
    assert {r["method"] for r in core if r["metric"] == "fairness.shardgf_ndcg@20"} == {
        "sisa(shards=2)", "sisa(shards=4)"}  # no unsharded row reports shardGF: no line
    assert all(r["mean"] for r in rows if r["n"] == r["n_expected"] and
               r["metric"] == "utility.ndcg@20")
    assert {r["protocol"] for r in rows} == {"before cure4rec-eval/2 (no evaluation_protocol "
                                             "field)"}
    assert not any("cure4rec-eval" in r["section"] for r in rows)


def test_mean_std_hand_computed() -> None:
    recs = [r for r in _records() if r["kind"] == "original" and
            r["cell"]["forget"]["strategy"] == "random"]
    vals = sorted(r["metrics"]["utility.ndcg@20"] for r in recs)
    lb = build_leaderboard(recs)
    st = lb.sections[0].rows[0].values["utility.ndcg@20"]
    assert st.mean == round(sum(vals) / 2, 6)
    assert st.std == pytest.approx(abs(vals[0] - vals[1]) / 2 ** 0.5, abs=1e-6)


def test_no_timestamps_read() -> None:
    recs = _records()
    changed = [dict(r, environment={"when": "now"}, timings={"x": 1}) for r in recs]
    assert render_all(changed) == render_all(recs)


def test_own_reference_rows_are_marked_and_fingerprinted() -> None:
    recs = _records()
    marked = [dict(r, info={**r.get("info", {}), "reference_kind": "method"})
              if r["kind"] == "method" and r["cell"]["method"]["name"].startswith("sisa")
              else r for r in recs]
    lb = build_leaderboard(marked)
    labels = {r.method for s in lb.sections for r in s.rows}
    assert any(lbl.startswith("sisa") and lbl.endswith("*") for lbl in labels)
    assert not any(lbl.startswith("retrain") and lbl.endswith("*") for lbl in labels)
    assert fingerprint(marked) != fingerprint(recs)
    out = render_all(marked)
    assert "* completeness" in out["leaderboard.md"]
    assert "* completeness" not in render_all(recs)["leaderboard.md"]


def test_markdown_shows_headline_only_csv_keeps_all() -> None:
    recs = _records()
    lb, out = build_leaderboard(recs), render_all(recs)
    toy = next(s for s in lb.sections if "vtoy · core" in s.title)
    # the fixture records predate the calibrated score and the forgotten-rank lift, so the
    # completeness column falls back to the ratio (and has no verdict column)
    cal, lift = "completeness.calibrated", "completeness.forgotten_rank_lift"
    ratio = "completeness.forgotten_rank_ratio"
    assert cal not in toy.metrics and lift not in toy.metrics
    assert [(c.title, k) for c, k in headline_columns(toy)] == [
        ("NDCG", "utility.ndcg@20"), ("ΔNDCG", "utility.ndcg@20"), ("calibrated", ratio),
        ("speed-up", "efficiency.speedup_vs_retrain"), ("ΔUGF", "fairness.ugf_ndcg@20")]
    tables = [ln for ln in out["leaderboard.md"].splitlines() if ln.startswith("| method |")]
    models = [(s, m) for s in lb.sections for m in dict.fromkeys(r.model for r in s.rows)
              if headline_columns(s)]
    assert len(tables) == len(models)  # one table per section × model
    for (s, _), head in zip(models, tables):
        cols = [c.strip() for c in head.strip("|").split("|")]
        assert cols[2:] == [headline_title(s, c, k) for c, k in headline_columns(s)]
    assert "a-igf_ndcg@20" not in out["leaderboard.md"]  # descriptive: CSV and HTML only
    assert ",fairness.a-igf_ndcg@20," in out["leaderboard.csv"]
    assert "a-igf_ndcg@20" in out["leaderboard.html"]
    md = out["leaderboard.md"]
    for c in COLUMNS:  # the legend defines every column, once, and links the definitions
        assert md.count(f"- {c.aspect} · {c.title} — ") == 1
    assert "[docs/metrics.md](../metrics.md)" in md


def test_delta_is_paired_by_seed_against_the_retrain_reference() -> None:
    m = "utility.ndcg@20"
    rows = (Row("bpr", "retrain", "reference", (0, 1, 2), {m: _stat([0.30, 0.20, 0.40], 3)}),
            Row("bpr", "a", "method", (0, 1, 2), {m: _stat([0.25, 0.16, 0.34], 3)}),
            Row("wmf", "a", "method", (0, 1, 2), {m: _stat([0.1, 0.1, 0.1], 3)}))
    sec = Section("t", "t", (0, 1, 2), (m,), {m: "higher"}, rows)
    d = delta_stat(sec, rows[1], m)
    assert d.values == (-0.05, -0.04, -0.06) and d.mean == pytest.approx(-0.05)
    assert d.ci == pytest.approx(4.302653 * 0.01 / 3 ** 0.5, abs=1e-6)  # paired: sd 0.01
    assert delta_stat(sec, rows[2], m).mean is None  # wmf has no retrain reference row
    assert column_section(sec, "bpr").rows[0].values["Δ" + m].mean == 0.0


def test_verdict_counts_over_seeds() -> None:
    k = "completeness.calibrated.verdict"

    def row(vs: list[float]) -> Row:
        return Row("bpr", "a", "method", tuple(range(len(vs))), {k: _stat(vs, len(vs))})

    assert verdict_text(row([1.0, 1.0, 1.0])) == "remembers 3/3"
    assert verdict_text(row([0.0, 0.0, 1.0])) == "indistinguishable 2/3"
    assert verdict_text(row([-1.0, -1.0, 1.0])) == "over-forgets 2/3"
    assert verdict_text(row([1.0, 0.0])) == "mixed (1 remembers, 1 indistinguishable)"
    assert verdict_text(Row("bpr", "a", "method", (), {})) == ""


def test_failed_cells_show_as_failed() -> None:
    recs = _records()
    victim = next(r for r in recs if r["kind"] == "method" and r["seed"] == 1
                  and r["cell"]["forget"]["strategy"] == "random")
    failed = dict(victim, metrics={}, status="error",
                  error={"type": "ValueError", "message": "boom", "traceback_sha256": "0" * 64})
    out = render_all([failed if r is victim else r for r in recs])
    md = out["leaderboard.md"]
    assert "failed: seed 1 (ValueError)" in md
    assert 'class="failed"' in out["leaderboard.html"]


def test_html_headline_first_then_collapsible_details() -> None:
    page = render_all(_records())["leaderboard.html"]
    for part in page.split("<h2>")[1:]:
        if 'class="sortable headline"' in part:
            assert part.index('class="sortable headline"') < part.index("<details>")
            if '<tbody class="refs">' in part:  # references apart, above the methods
                assert part.index('<tbody class="refs">') < part.index('<tbody class="methods">')
        assert part.count("<details>") == part.count("</details>") >= 2
        assert "cite this split" in part and "@misc{cure4rec:" in part


def test_headline_falls_back_to_other_cutoff() -> None:
    rec = dict(_records()[0])
    rec["metrics"] = {"utility.ndcg@10": 0.5, "utility.recall@20": 0.25}
    sec = build_leaderboard([rec]).sections[0]
    assert headline_metrics(sec) == ["utility.ndcg@10"]


def _section(metric: str, direction: str, values: list[tuple[str, str, float]]) -> Section:
    """Three seeds per row, spread ± 0.001 around `v` (so distinct rows are separated)."""
    rows = tuple(Row("bpr", name, role, (0, 1, 2),
                     {metric: _stat([v - 0.001, v, v + 0.001], 3)})
                 for name, role, v in values)
    return Section("t", "t", (0, 1, 2), (metric,), {metric: direction}, rows)


def test_target_best_is_closest_to_ideal() -> None:
    gap = _section("completeness.mia_auc_gap", "target",
                   [("a", "method", -0.05), ("b", "method", 0.2), ("c", "method", 0.1)])
    assert best_rows(gap, "completeness.mia_auc_gap") == {0}
    ratio = _section("completeness.forgotten_rank_ratio", "target",
                     [("a", "method", 0.5), ("b", "method", 1.2), ("c", "method", 2.0)])
    assert best_rows(ratio, "completeness.forgotten_rank_ratio") == {1}
    fg = _section("utility.forgotten.ndcg@20", "target",
                  [("retrain", "reference", 0.1), ("original", "reference", 0.4),
                   ("a", "method", 0.3), ("b", "method", 0.12)])
    assert best_rows(fg, "utility.forgotten.ndcg@20") == {3}
    no_ref = _section("utility.forgotten.ndcg@20", "target", [("a", "method", 0.3)])
    assert best_rows(no_ref, "utility.forgotten.ndcg@20") == set()


def assert_pages_current(folder: Path) -> None:
    """The pages in `folder` match its records/ (the HTML up to the PNG bytes, which depend
    on the matplotlib version: test_plots.py checks those)."""
    out = render_all(load_records(find_records(folder / "records")))
    for name, text in out.items():
        committed = (folder / name).read_text()
        if name.endswith(".html"):
            imgs = IMG.findall(committed)
            assert len(imgs) == text.count('src="plot:')
            for alt, b64 in imgs:  # valid PNGs of the declared size (no matplotlib needed)
                assert png_size(b64) == tuple(round(100 * x) for x in SIZES[alt])
            committed = strip_pngs(committed)
        assert committed == text, f"{folder.name}/{name} is stale: rebuild it"


@pytest.mark.skipif(not (DOCS / "records").is_dir(), reason="no committed leaderboard")
def test_committed_leaderboard_is_current() -> None:
    """The committed pages match their records."""
    assert_pages_current(DOCS)


def _plot_section(directions: tuple[str, str], n_methods: int = 4) -> Section:
    """Calibrated completeness (x, ◎ ideal 0) and NDCG (y); three seeds per row."""
    cx, uy = "completeness.calibrated", "utility.ndcg@20"
    pts = [("original", "reference", 0.8, 0.5), ("retrain", "reference", 0.0, 0.4),
           ("a", "method", 0.6, 0.45), ("b", "method", 0.1, 0.35), ("c", "method", -0.3, 0.3),
           ("d", "method", 0.2, 0.3), ("e", "method", None, 0.9)]
    pts += [(f"m{i}", "method", 0.5, 0.1) for i in range(n_methods - 4)]
    rows = tuple(Row("bpr", n, role, (0, 1, 2),
                     {cx: _stat([None if x is None else x + d for d in (-0.01, 0, 0.01)], 3),
                      uy: _stat([y - 0.02, y, y + 0.02], 3)})
                 for n, role, x, y in pts)
    return Section("t", "t", (0, 1, 2), (cx, uy), dict(zip((cx, uy), directions)), rows)


def test_tradeoff_plot_data_and_pareto_front_by_hand() -> None:
    charts = tradeoff_data(_plot_section(("target", "higher")))
    assert len(charts) == 1
    data = charts[0]
    assert data["x"] == "completeness.calibrated" and data["x_ideal"] == 0.0
    assert not data["fallback"]
    labels = [p[0] for p in data["points"]]  # e lacks x: not drawn; references kept, marked
    assert labels == ["original (reference)", "retrain (reference)", "a", "b", "c", "d"]
    a = data["points"][2]
    assert a[:3] == ["a", "method", 0.6] and a[4] == 0.45
    assert a[3] == pytest.approx(4.302653 * 0.01 / 3 ** 0.5, abs=1e-6)  # t(.975, 2)·sd/√3
    # |x − 0| vs y: b (0.1, 0.35) and a (0.6, 0.45) are on the front; c (0.3, 0.3) and
    # d (0.2, 0.3) are dominated by b; references never are on it
    assert data["front"] == ["b", "a"]
    # an undirected older-protocol ratio is judged by its distance to its ideal (1)
    old = _plot_section(("none", "higher"))
    ratio = "completeness.forgotten_rank_ratio"
    old = Section("t", "t", old.seeds, (ratio, "utility.ndcg@20"),
                  {ratio: "none", "utility.ndcg@20": "higher"},
                  tuple(Row(r.model, r.method, r.role, r.seeds,
                            {ratio: r.values["completeness.calibrated"],
                             "utility.ndcg@20": r.values["utility.ndcg@20"]})
                        for r in old.rows))
    od = tradeoff_data(old)[0]
    assert od["fallback"] and od["x_ideal"] == 1.0 and od["front"] == ["a"]
    assert pareto([(1, 1), (1, 1), (0, 2)]) == [0, 1, 2]  # ties do not dominate
    assert pareto([(1, 1), (2, 2)]) == [1]
    assert pareto([(1, 1), (1, 2), (0, 3)]) == [1, 2]  # equal x, better y dominates


def test_tradeoff_never_draws_more_series_than_the_palette() -> None:
    charts = tradeoff_data(_plot_section(("target", "higher"), n_methods=MAX_SERIES + 3))
    assert len(charts) == 2
    for c in charts:
        assert sum(1 for p in c["points"] if p[1] == "method") <= MAX_SERIES
    assert charts[0]["title"].endswith("(1/2)")


def test_efficiency_chart_is_geometric_mean_with_log_ci() -> None:
    key = "efficiency.speedup_vs_retrain"
    vals = {"a": (1.0, 10.0, 100.0), "b": (2.0, 2.0, 2.0)}
    rows = tuple(Row("bpr", n, "method", (0, 1, 2), {key: _stat(list(v), 3)})
                 for n, v in vals.items())
    sec = Section("t", "t", (0, 1, 2), (key,), {key: "higher"}, rows)
    (data,) = efficiency_data(sec)
    bars = {b[1]: b[2:] for b in data["bars"]}
    h = 4.302653 * 1.0 / 3 ** 0.5  # logs 0, 1, 2: sd 1
    assert bars["a"] == pytest.approx([10.0, 10 ** (1 - h), 10 ** (1 + h)], rel=1e-5)
    assert bars["b"] == pytest.approx([2.0, 2.0, 2.0])
    assert log_interval((1.0, -1.0)) is None  # a non-positive speed-up is not drawn


def test_html_shows_each_plot_whose_data_exists() -> None:
    recs = _records()
    seen: list[str] = []
    from cure4rec.leaderboard import render_all as real

    page = real(recs, image=lambda name, data: seen.append(name) or f"plot:{name}")[
        "leaderboard.html"]
    lb = build_leaderboard(recs)
    expect = [name for s in lb.sections for name, charts in
              (("trade-off", tradeoff_data(s)), ("efficiency", efficiency_data(s)))
              for _ in charts]
    assert seen == expect and page.count("<img ") == len(expect) > 0


@pytest.mark.browser
@pytest.mark.parametrize("which", ["fixture", "committed"])
def test_html_renders_in_chromium(tmp_path: Path, which: str) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    if which == "committed":
        page = DOCS / "leaderboard.html"
    else:
        require("matplotlib")
        from cure4rec.leaderboard import render_all as real  # real PNGs (matplotlib)

        page = tmp_path / "lb.html"
        page.write_text(real(_records())["leaderboard.html"])
    res = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    assert '<table class="sortable">' in res.stdout and "utility" in res.stdout
    assert "Uncaught" not in res.stderr and "CONSOLE" not in res.stderr
    # every plot is an inline PNG that decodes (a missing or broken image fails)
    imgs = IMG.findall(res.stdout)
    assert imgs and len(imgs) == res.stdout.count("<img ")
    for alt, b64 in imgs:
        assert png_size(b64) == tuple(round(100 * x) for x in SIZES[alt])


def test_new_protocol_headline_has_calibrated_score_and_verdict() -> None:
    """Records of cure4rec-eval/2 get the calibrated column (◎, ideal 0) and the verdict
    column; the section shows its protocol; the trade-off plot uses the calibrated score."""
    recs = []
    for r in _records():
        if r["cell"]["forget"]["strategy"] != "random" or r["dataset"]["version"] != "toy":
            continue
        r = dict(r, info={**r.get("info", {}), "evaluation_protocol": "cure4rec-eval/2"},
                 metrics=dict(r["metrics"]))
        if r["kind"] == "method":
            r["metrics"]["completeness.calibrated"] = 0.3 + 0.01 * r["seed"]
            r["metrics"]["completeness.calibrated.verdict"] = 1.0
        recs.append(r)
    lb = build_leaderboard(recs)
    (sec,) = lb.sections
    assert sec.protocol == "cure4rec-eval/2" and lb.protocols == ("cure4rec-eval/2",)
    md = render_all(recs)["leaderboard.md"]
    assert "| completeness · calibrated ◎ | completeness · verdict |" in md
    assert "protocol: cure4rec-eval/2 · seeds: 0, 1" in md
    assert md.count("remembers 2/2") == 3  # retrain, sisa(shards=2), sisa(shards=4)
    (chart,) = tradeoff_data(sec)
    assert chart["x"] == "completeness.calibrated" and not chart["fallback"]


def test_retrain_reference_without_completeness_sits_at_the_ideal() -> None:
    sec = _plot_section(("target", "higher"))
    cx = "completeness.calibrated"
    rows = tuple(Row(r.model, r.method, r.role, r.seeds,
                     {**r.values, cx: Stat(None, None, 3)} if r.role == "reference"
                     else r.values) for r in sec.rows)
    (data,) = tradeoff_data(Section("t", "t", sec.seeds, sec.metrics, sec.directions, rows))
    assert data["points"][0][:4] == ["retrain (reference)", "reference", 0.0, 0.0]
    assert "original (reference)" not in [p[0] for p in data["points"]]


def test_html_target_columns_sort_by_distance_to_the_ideal() -> None:
    from cure4rec.leaderboard.render_html import sort_value

    gap = _section("completeness.mia_auc_gap", "target",
                   [("a", "method", -0.05), ("b", "method", 0.2), ("c", "method", 0.1)])
    assert [sort_value(gap, i, "completeness.mia_auc_gap") for i in range(3)] == [
        "0.05", "0.2", "0.1"]  # |gap − 0|: a (−0.05) sorts first, not last
    up = _section("utility.ndcg@20", "higher", [("a", "method", -0.05)])
    assert sort_value(up, 0, "utility.ndcg@20") == "-0.05"
