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
    # completeness: retrain-referenced, 1 (ratios) or 0 (gaps) is ideal
    ("completeness.forgotten_rank_lift", "completeness.forgotten_rank_ratio"),
    ("completeness.mia_auc_gap",),
    ("completeness.mio_auc_gap",),
    ("completeness.topk_overlap_ratio.neighbours",),
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
