"""Every metric key the evaluator emits: its aspect, its direction and what it means.

Directions: ``higher`` / ``lower`` is better; ``target`` = closer to the retrained model's
value is better (e.g. MIA AUC: the goal is the retrain value, not 0.5, and not as low as
possible); ``none`` = descriptive, not ranked (e.g. signed A-IGF, raw seed-noise levels).
Keys look like ``aspect.name[@k][.group]``; patterns use ``fnmatch`` wildcards.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from cure4rec.errors import UnknownNameError

Direction = Literal["higher", "lower", "target", "none"]


@dataclass(frozen=True)
class MetricInfo:
    """How to read and rank one metric key."""

    key_pattern: str
    aspect: str
    direction: Direction
    description: str


_G = "forgotten users, their 1-hop neighbours, or a sample of the rest"
CATALOG: tuple[MetricInfo, ...] = (
    MetricInfo("utility.forgotten.*", "utility", "target",
               "ranking metric on the forgotten users' held-out test rows (the same history, "
               "train + validation, for every row); the retrain value is the reference"),
    MetricInfo("utility.neighbours.*", "utility", "higher",
               "ranking metric on the forgotten users' 1-hop neighbours (test rows)"),
    MetricInfo("utility.*", "utility", "higher",
               "ranking metric (NDCG/Recall/HR/Precision/MRR@k) on retained users' test rows"),
    MetricInfo("completeness.calibrated", "completeness", "target",
               "HEADLINE. 2·mean position − 1 of the forgotten users' (pairs': "
               "interaction requests) percentiles among N retrained references, in [−1, 1]: "
               "0 = as a retrain, + remembers, − over-forgets"),
    MetricInfo("completeness.calibrated_pairs", "completeness", "target",
               "the calibrated score with one example per forgotten pair (heavy users weigh "
               "more); 0 = as a retrain"),
    MetricInfo("completeness.calibrated*.verdict", "completeness", "none",
               "+1 remembers, 0 indistinguishable, −1 over-forgets (two-sided, p < 0.05)"),
    MetricInfo("completeness.calibrated*.z", "completeness", "none",
               "calibrated score / (leave-one-out noise floor · √(1 + 1/N))"),
    MetricInfo("completeness.calibrated*.p", "completeness", "none",
               "two-sided p-value of the calibrated score (Student t, N − 1 df)"),
    MetricInfo("completeness.calibrated.noise", "completeness", "none",
               "noise floor: sd of the references' leave-one-out scores (≥ 0.001)"),
    MetricInfo("completeness.calibrated.*", "completeness", "none",
               "the calibrated score of the method's original model (.original), the number "
               "of references and of examples"),
    MetricInfo("completeness.forgotten_rank_ratio", "completeness", "none",
               "retired from the headline (its denominator, W1 between two retrains, swings "
               "17x between reference pairs): W1 of forgotten pairs' percentiles vs each "
               "reference over the mean W1 between reference pairs"),
    MetricInfo("completeness.*_ratio.*", "completeness", "target",
               f"mean_j d(unlearned, reference r_j) / mean_(a<b) d(r_a, r_b) on {_G} (.qN: "
               "difficulty quartile N of the forgotten users); 1 = at seed noise"),
    MetricInfo("completeness.forgotten_rank_lift", "completeness", "target",
               "share of the original's lift of the forgotten pairs' mean percentile that "
               "remains: 0 = as retrained (ideal), 1 = as the original, < 0 = pushed below"),
    MetricInfo("completeness.forgotten_rank*", "completeness", "none",
               "mean percentile of the forgotten (u, i) pairs among all items (1 = top)"),
    MetricInfo("completeness.*.seed.*", "completeness", "none",
               "the same statistic between reference seeds, mean over pairs (seed-noise level)"),
    MetricInfo("completeness.topk_overlap.*", "completeness", "higher",
               f"top-k overlap |A∩B|/k of unlearned and retrain rankings on {_G}"),
    MetricInfo("completeness.rbo.*", "completeness", "higher",
               f"rank-biased overlap (p=0.9, extrapolated at k) with retrain on {_G}"),
    MetricInfo("completeness.js.*", "completeness", "lower",
               f"JS divergence of softmax(standardised score/τ) vs retrain on {_G}"),
    MetricInfo("completeness.recovery", "completeness", "higher",
               "functional test: share of the shilling attack's target exposure undone (1 = "
               "as retrain; > 1 = exposure pushed below retrain's)"),
    MetricInfo("completeness.recovery_rank", "completeness", "higher",
               "functional test on the targets' mean percentile rank (continuous exposure): "
               "share of the attack's lift undone (1 = as retrain)"),
    MetricInfo("completeness.*.original", "completeness", "none",
               "the attack / oracle value on the original model (trained on all data)"),
    MetricInfo("completeness.*.retrain", "completeness", "none",
               "the attack / oracle value on the retrained model r0 (the target value)"),
    MetricInfo("completeness.attr_chance*", "completeness", "none",
               "chance level of the attribute attack's balanced accuracy (1/K classes)"),
    MetricInfo("completeness.attr_*", "completeness", "lower",
               "attribute-inference attack (AUC, balanced accuracy, macro F1; .mlp / .gb) on "
               "the user representation, attribute requests only; chance: AUC 0.5, BAcc 1/K"),
    MetricInfo("completeness.*_gap", "completeness", "target",
               "attack value on the unlearned model minus on the retrained model (0 = ideal)"),
    MetricInfo("completeness.*mia_auc", "completeness", "target",
               "membership-inference AUC on the unlearned model (umia: the unlearning attack "
               "on (original, unlearned)); goal: the retrain value"),
    MetricInfo("completeness.*mia_tpr@*fpr", "completeness", "target",
               "membership-inference TPR at FPR ≤ 1% / 0.1% on the unlearned model (goal: "
               "retrain's; with n negatives, FPR below 1/n means zero false positives)"),
    MetricInfo("completeness.mio_*", "completeness", "target",
               "MIO (cure4rec-compat reconstruction, opt-in, not in the headline: its features "
               "move with set size) oracle AUC / accuracy on the unlearned model"),
    MetricInfo("completeness.*", "completeness", "none",
               "reference values (original / retrain models, attack strength, quantile groups)"),
    MetricInfo("efficiency.speedup_vs_retrain", "efficiency", "higher",
               "retrain wall-clock seconds / unlearn wall-clock seconds"),
    MetricInfo("efficiency.speedup_cpu*_vs_retrain", "efficiency", "higher",
               "retrain CPU seconds / unlearn CPU seconds (process time, all threads); "
               "_parallel: the slowest retrained shard + non-shard work (K workers)"),
    MetricInfo("efficiency.*", "efficiency", "lower",
               "wall / CPU seconds, peak RSS MiB, stream latency (mean, p95)"),
    MetricInfo("fairness.a-igf*", "fairness", "none",
               "signed NDCG gap active (top 5% by retained degree) − inactive"),
    MetricInfo("fairness.*", "fairness", "lower",
               "UGF = |A-IGF|, Wasserstein-1 gap, shardGF (variance of per-shard NDCG), CIs"),
)


def metric_info(key: str) -> MetricInfo:
    """The first catalog entry whose pattern matches `key` (most specific entries first)."""
    for info in CATALOG:
        if fnmatchcase(key, info.key_pattern):
            return info
    raise UnknownNameError(f"unknown metric key {key!r}; see docs/metrics.md for the catalogue")
