"""The headline metrics: the few columns the Markdown leaderboard and the HTML summary show.

Declared here and nowhere else. Each entry lists candidate keys, most preferred first, so a
recipe evaluated at other cut-offs (e.g. `ks: [10]`) still gets its column; a section shows
an entry only if one of its candidates was measured there. Every other metric stays in the
CSV and in the HTML detail tables.
"""

from __future__ import annotations

from cure4rec.leaderboard.build import Section

HEADLINE: tuple[tuple[str, ...], ...] = (
    # utility: retained users, then the forgotten users' held-out rows (target: retrain's)
    ("utility.ndcg@20", "utility.ndcg@10"),
    ("utility.recall@20", "utility.recall@10"),
    ("utility.forgotten.ndcg@20", "utility.forgotten.ndcg@10"),
    # completeness: the calibrated score against N retrains (0 = as retrained; older
    # records fall back to the lift / ratio), then the user-level MIA gap (0 is ideal)
    ("completeness.calibrated", "completeness.forgotten_rank_lift",
     "completeness.forgotten_rank_ratio"),
    ("completeness.mia_auc_gap",),
    # attribute requests: the attribute-inference attack (chance: AUC 0.5)
    ("completeness.attr_auc.gb",),
    ("completeness.attr_auc.mlp",),
    # efficiency
    ("efficiency.unlearn_wall_s",),
    ("efficiency.speedup_vs_retrain",),
    # fairness
    ("fairness.ugf_ndcg@20", "fairness.ugf_ndcg@10"),
    ("fairness.shardgf_ndcg@20", "fairness.shardgf_ndcg@10"),
)


def headline_metrics(section: Section) -> list[str]:
    """The headline keys measured in `section`, in declared order (first candidate present)."""
    present = set(section.metrics)
    out = []
    for candidates in HEADLINE:
        hit = next((k for k in candidates if k in present), None)
        if hit is not None:
            out.append(hit)
    return out
