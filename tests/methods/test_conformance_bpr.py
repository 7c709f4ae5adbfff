"""The shipped methods pass the conformance kit on the real `bpr` model too (tiny budgets).

One kit subclass per row of `CASES` is generated below (pytest collects them by name).
"""

from typing import Any

from cure4rec.models.base import ModelSpec
from cure4rec.testing import MethodConformance

BPR = ModelSpec("bpr", {"dim": 8, "epochs": 4, "batch_size": 128, "lr": 0.05})

#: class-name stem -> (method, exact, method config)
CASES: dict[str, tuple[str, bool, dict[str, Any] | None]] = {
    "Retrain": ("retrain", True, None),
    "SISA": ("sisa", True, {"shards": 3, "slices": 2}),
    "RecEraser": ("receraser", False, {"shards": 3, "iters": 5, "agg_epochs": 5}),
    "RecEraserStrict": ("receraser", True, {"shards": 3, "iters": 5, "agg_epochs": 5,
                                            "strict": True}),
    "UltraRE": ("ultrare", False, {"shards": 3, "iters": 3, "lr_steps": 20}),
    "UltraREStrict": ("ultrare", True, {"shards": 3, "iters": 3, "lr_steps": 20,
                                        "strict": True}),
    "FineTune": ("finetune", False, {"epochs": 2}),
    "GradientAscent": ("gradient-ascent", False, None),
    "NegGradPlus": ("gradient-ascent+retain", False, None),
    "SCIFPaper": ("scif", False, None),
    "SCIFIfru": ("scif", False, {"variant": "ifru", "cg_iters": 20}),
}

for _stem, (_method, _exact, _config) in CASES.items():
    _name = f"Test{_stem}BPR"
    globals()[_name] = type(_name, (MethodConformance,), {
        "method": _method, "model": BPR, "exact": _exact, "config": _config})
