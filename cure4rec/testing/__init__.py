"""cure4rec.testing: the conformance kit for third-party methods (and a toy model and data)."""

from cure4rec.testing.conformance import CheckResult, MethodConformance, run_checks
from cure4rec.testing.toy import TOY_MODEL, ToyMF, toy_interactions

__all__ = ["CheckResult", "MethodConformance", "TOY_MODEL", "ToyMF", "run_checks",
           "toy_interactions"]
