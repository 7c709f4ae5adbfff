"""Two folders of run records of the same cells (e.g. the committed ones before and after a
regeneration): per (model, method, strategy), the mean over seeds of new − old for NDCG@20,
the calibrated completeness and the speed-up, with the largest |new − old|.

Usage: python benchmarks/compare_records.py OLD_RECORDS NEW_RECORDS
  e.g. OLD from `git archive 10b57d1 docs/leaderboard/records | tar -x -C /tmp/old`
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

KEYS = ("utility.ndcg@20", "completeness.calibrated", "efficiency.speedup_vs_retrain")


def load(folder: str) -> dict[str, dict[str, Any]]:
    """Record file name -> record, error records left out."""
    out = {}
    for f in Path(folder).glob("*.json"):
        r = json.loads(f.read_text())
        if r.get("status") != "error":
            out[f.name] = r
    return out


def main() -> None:
    old, new = load(sys.argv[1]), load(sys.argv[2])
    common = sorted(set(old) & set(new))
    print(f"{len(old)} old, {len(new)} new, {len(common)} in common; identical metrics: "
          f"{sum(old[f]['metrics'] == new[f]['metrics'] for f in common)}")
    diffs: dict[tuple[str, ...], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for f in common:
        a, b = old[f], new[f]
        method = a["cell"]["method"]["name"] if a["kind"] == "method" else a["kind"]
        group = (a["dataset"]["name"], a["cell"]["model"]["name"], method,
                 a["cell"]["forget"]["strategy"])
        for key in KEYS:
            x, y = a["metrics"].get(key), b["metrics"].get(key)
            if x is not None and y is not None:
                diffs[group][key].append(y - x)
    for group in sorted(diffs):
        cells = [f"{k.split('.')[-1]} {sum(v) / len(v):+.4f} (max {max(map(abs, v)):.4f})"
                 for k, v in diffs[group].items()]
        print(" · ".join(group), "|", "; ".join(cells))


if __name__ == "__main__":
    main()
