"""cure4rec: a benchmark suite for recommendation unlearning.

Four aspects, as in CURE4Rec: unlearning Completeness, recommendation Utility,
unleaRning efficiency and recommendation fairnEss -- computed with corrected metrics,
on citable, content-hashed forget splits.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
