"""`metric_info` against the catalogue as docs/metrics.md states it (issue 17): the first,
most specific pattern wins, and an unknown key names itself and where the catalogue is."""

from __future__ import annotations

import pytest

from cure4rec.errors import ConfigError, UnknownNameError
from cure4rec.metrics.catalog import metric_info

# key -> (aspect, direction, the catalogue pattern that must answer), read off the table
KNOWN = {
    "completeness.calibrated": ("completeness", "target", "completeness.calibrated"),
    "completeness.calibrated_pairs": ("completeness", "target", "completeness.calibrated_pairs"),
    "completeness.calibrated.verdict": ("completeness", "none",
                                        "completeness.calibrated*.verdict"),
    "completeness.calibrated_pairs.p": ("completeness", "none", "completeness.calibrated*.p"),
    "completeness.calibrated.noise": ("completeness", "none", "completeness.calibrated.noise"),
    "completeness.calibrated.original": ("completeness", "none", "completeness.calibrated.*"),
    "utility.forgotten.ndcg@20": ("utility", "target", "utility.forgotten.*"),
    "utility.neighbours.recall@10": ("utility", "higher", "utility.neighbours.*"),
    "utility.mrr@20": ("utility", "higher", "utility.*"),
    "completeness.recovery": ("completeness", "higher", "completeness.recovery"),
    "completeness.recovery_rank": ("completeness", "higher", "completeness.recovery_rank"),
    "completeness.recovery_exposure.original": ("completeness", "none",
                                                "completeness.*.original"),
    "completeness.mia_auc_gap": ("completeness", "target", "completeness.*_gap"),
    "efficiency.speedup_cpu_parallel_vs_retrain": ("efficiency", "higher",
                                                   "efficiency.speedup_cpu*_vs_retrain"),
    "efficiency.unlearn_seconds": ("efficiency", "lower", "efficiency.*"),
    "fairness.ugf_ndcg@20": ("fairness", "lower", "fairness.*"),
}


@pytest.mark.parametrize("key", sorted(KNOWN))
def test_the_most_specific_entry_answers(key: str) -> None:
    aspect, direction, pattern = KNOWN[key]
    info = metric_info(key)
    assert (info.aspect, info.direction, info.key_pattern) == (aspect, direction, pattern)
    assert info.description


def test_an_unknown_key_names_itself_and_the_catalogue() -> None:
    with pytest.raises(UnknownNameError) as e:
        metric_info("privacy.epsilon")
    assert str(e.value) == ("unknown metric key 'privacy.epsilon'; see docs/metrics.md for the "
                            "catalogue")
    assert isinstance(e.value, ConfigError)
