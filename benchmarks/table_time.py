"""Where a recipe run's time went, per model, from its records (issue 13: "the measured time
and where it went (training / references / attacks / other), per model").

    python benchmarks/table_time.py RESULTS/RECIPE-NAME [--wall-s 1234]

Reads every record of a results folder (``RESULTS/<recipe name>``; the records hold CPU
seconds per phase, see `cure4rec.runner.pipeline`) and prints, per model, CPU seconds of:

- **original**: the model fitted on the full train set (once per data split, shared by
  the forget strategies through the content-hash cache);
- **references**: the N plain retrains of every forget split (the records keep their mean
  fit time, ``timings.retrain``: N × that per split) and the exact sharded methods'
  own-algorithm references (``timings.method_references``, learned in each method cell;
  "n/r" where the records predate that key);
- **methods**: each method's ``learn`` (once per data split for the sharded methods, whose
  learned state is cached: counted once) and ``unlearn``;
- **evaluation**: ``timings.evaluate``, split into its attacks (the membership-inference
  shadows and attacks, ``evaluate_phases_cpu_s.attacks``) and the rest, where recorded;
- the records' sum, and with ``--wall-s`` (the run's wall seconds, e.g. from ``time``) the
  run's CPU-busy share on the machine's cores.

Wall time per model is the span between its first and last record file (modification
times: approximate, workers overlap at the boundaries). CPU seconds are process CPU time
of the cell's worker, i.e. what one core spent.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any


def cpu(t: dict[str, Any], key: str) -> float:
    return float(t.get(key, {}).get("cpu_s", 0.0))


def breakdown(records: list[tuple[float, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per model: CPU seconds of each part and the wall span of its record files."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    learned: set[tuple[str, str, str]] = set()
    originals: set[tuple[str, str]] = set()
    retrains: set[tuple[str, str]] = set()
    for mtime, rec in records:
        c, t = rec["cell"], rec["timings"]
        model, split = c["model"]["name"], rec["split"]["id"]
        b = out[model]
        b["first"] = min(b.get("first", mtime), mtime)
        b["last"] = max(b.get("last", mtime), mtime)
        b["cells"] += 1
        data = json.dumps(c["split"], sort_keys=True)
        if (model, data) not in originals:
            originals.add((model, data))
            b["original"] += cpu(t, "original_fit")
        if (model, split) not in retrains:
            retrains.add((model, split))
            n = int(c["references"].get("retrain_seeds", 8))
            b["retrain references"] += n * cpu(t, "retrain")
        if rec["kind"] != "method":
            continue
        method = json.dumps(c["method"], sort_keys=True)
        # single-model methods share the original (learn = the original's fit, not re-run);
        # sharded ones learn once per data split (cached)
        if "learn" in t and (model, method, data) not in learned and t["learn"] != t.get(
                "original_fit"):
            learned.add((model, method, data))
            b["method learn"] += cpu(t, "learn")
        b["method unlearn"] += cpu(t, "unlearn")
        if rec["info"].get("reference_kind") == "method":
            if "method_references" in t:
                b["own-algorithm references"] += cpu(t, "method_references")
            else:
                b["own-algorithm references not recorded"] += 1
        ev = cpu(t, "evaluate")
        phases = t.get("evaluate_phases_cpu_s")
        if phases is None:
            b["evaluation (phases not recorded)"] += ev
        else:
            b["evaluation: attacks"] += float(phases.get("attacks", 0.0))
            b["evaluation: other"] += ev - float(phases.get("attacks", 0.0))
    return out


PARTS = ("original", "retrain references", "own-algorithm references", "method learn",
         "method unlearn", "evaluation: attacks", "evaluation: other",
         "evaluation (phases not recorded)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", help="a recipe's results folder (holding records/)")
    p.add_argument("--wall-s", type=float, default=None, help="the run's wall seconds")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    files = sorted((Path(a.folder) / "records").glob("*.json"))
    recs = [(f.stat().st_mtime, json.loads(f.read_text())) for f in files]
    if not recs:
        raise SystemExit(f"no records under {Path(a.folder) / 'records'}")
    out = breakdown(recs)
    print(f"{len(recs)} records in {a.folder}")
    print("| model | cells | wall span s | " + " | ".join(PARTS) + " | sum CPU s |")
    print("|---|--:|--:|" + "--:|" * (len(PARTS) + 1))
    total = 0.0
    for model, b in out.items():
        cols = [f"{b[k]:.0f}" if k in b else "–" for k in PARTS]
        s = sum(b.get(k, 0.0) for k in PARTS)
        total += s
        print(f"| {model} | {int(b['cells'])} | {b['last'] - b['first']:.0f} | "
              + " | ".join(cols) + f" | {s:.0f} |")
        missing = int(b.get("own-algorithm references not recorded", 0))
        if missing:
            print(f"  ({model}: {missing} method cells predate timings.method_references: "
                  "their own-algorithm references are not in the sum)")
    print(f"sum of the records' CPU seconds: {total:.0f}")
    if a.wall_s:
        print(f"run wall {a.wall_s:.0f} s on {a.cores} cores: records' CPU / (wall × cores) = "
              f"{total / (a.wall_s * a.cores):.2f}")


if __name__ == "__main__":
    main()
