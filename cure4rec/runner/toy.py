"""A toy cell function for testing runners, executors and leaderboards without training.

`toy_cell` turns a cell spec into a record whose metrics are a deterministic function of
the cell's definition (hash-derived), with a subset of the keys the real evaluator emits
(the headline ones; shardGF only for sharded methods). Set
`CURE4REC_TOY_FAIL_AT=<config_hash>` to make that cell raise (crash-recovery tests), and
`CURE4REC_TOY_KILL_AT=<config_hash>` to make the worker running it SIGKILL itself (worker-
death tests; never in the process named by `CURE4REC_TOY_PARENT`, the test runner).
"""

from __future__ import annotations

import hashlib
import os
import signal
from typing import Any

import numpy as np

from cure4rec.runner.cells import CellSpec, spec_from_dict
from cure4rec.runner.records import make_record

TOY_METRICS = ("completeness.forgotten_rank_ratio", "completeness.mia_auc",
               "completeness.mia_auc_gap", "completeness.mio_auc_gap",
               "completeness.topk_overlap_ratio.neighbours", "utility.ndcg@20",
               "utility.recall@20", "utility.forgotten.ndcg@20", "efficiency.unlearn_wall_s",
               "efficiency.speedup_vs_retrain", "fairness.ugf_ndcg@20", "fairness.a-igf_ndcg@20")
SHARDED_METRICS = ("fairness.shardgf_ndcg@20",)  # only for cells whose method has shards


class ToyCrash(RuntimeError):
    """Raised by `toy_cell` for the cell named in `CURE4REC_TOY_FAIL_AT`."""


def toy_cell(spec: CellSpec | dict[str, Any]) -> dict[str, Any]:
    """A record with pseudo-random but reproducible metrics for `spec`."""
    spec = spec if isinstance(spec, CellSpec) else spec_from_dict(spec)
    if os.environ.get("CURE4REC_TOY_FAIL_AT") == spec.config_hash:
        raise ToyCrash(f"toy crash in cell {spec.config_hash}")
    if (os.environ.get("CURE4REC_TOY_KILL_AT") == spec.config_hash
            and os.environ.get("CURE4REC_TOY_PARENT") not in (None, str(os.getpid()))):
        os.kill(os.getpid(), signal.SIGKILL)
    seed = int.from_bytes(hashlib.sha256(spec.config_hash.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    keys = TOY_METRICS + (SHARDED_METRICS if "shards" in spec.method["config"] else ())
    metrics = {k: float(rng.uniform(0.0, 1.0)) for k in keys}
    ds = spec.dataset["name"]
    return make_record(spec.definition(), dataset={"name": ds, "version": "toy",
                                                   "sha256": "0" * 64},
                       split={"id": f"toy-{spec.forget['strategy']}", "sha256": "1" * 64},
                       metrics=metrics, timings={"unlearn": {"wall_s": 0.0}})
