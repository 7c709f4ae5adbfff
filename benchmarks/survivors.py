"""Issue 17's five surviving mutants, each applied to a throwaway copy and run against the
test that is meant to kill it. Prints one row per mutant: the test's outcome on the
unmutated copy (must pass) and on the mutant (must fail).

    python benchmarks/survivors.py [--keep DIR]

The mutants are the audit's, written as exact text replacements in the source; the script
refuses to run if a replacement's text is not found exactly once (the code moved: update the
mutant, do not drop it). Outside CI; about a minute of fast tests per mutant.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS = (
    Mutant("completeness rankings without the train-item mask",
           "cure4rec/metrics/completeness.py",
           "    return _masked_scores(model.score, users, hist)",
           "    return _masked_scores(model.score, users, None)",
           ("tests/metrics/test_completeness_mask.py",)),
    Mutant("MIA negatives from the positives' retrained model",
           "cure4rec/metrics/mia.py",
           "out.update(user_mia(attack, models, references[-1], forget, users))",
           "out.update(user_mia(attack, models, references[0], forget, users))",
           ("tests/metrics/test_mia_negatives.py",)),
    Mutant("A-IGF sign flipped in the published fairness report",
           "cure4rec/metrics/fairness.py",
           '"a-igf": _gap, "ugf"',
           '"a-igf": lambda a, d: -_gap(a, d), "ugf"',
           ("tests/metrics/test_fairness_published.py",)),
    Mutant("record writer non-atomic (straight to the final file)",
           "cure4rec/runner/records.py",
           'fd, tmp = tempfile.mkstemp(dir=records_dir, prefix=temp_prefix(), suffix=".json")',
           "fd, tmp = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), str(path)",
           ("tests/runner/test_torn_write.py",)),
    Mutant("resume trusts the hash stored inside a record",
           "cure4rec/runner/records.py",
           'return rec["config_hash"] == expected_hash == config_hash(rec["cell"])',
           'return rec["config_hash"] == expected_hash',
           ("tests/runner/test_resume_hash.py",)),
)


def copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[bool, float]:
    env = dict(os.environ, PYTHONPATH=str(tree), RAY_USAGE_STATS_ENABLED="0")
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        *tests], cwd=tree, env=env, capture_output=True, text=True)
    return r.returncode == 0, time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", default=None, help="build the copies here and keep them")
    a = p.parse_args()
    base = Path(a.keep or tempfile.mkdtemp(prefix="cure4rec-survivors-"))
    print("| mutant | file | killed by | unmutated | mutant | s |")
    print("|---|---|---|---|---|--:|")
    failures = 0
    for n, m in enumerate(MUTANTS):
        tree = base / f"m{n}"
        shutil.rmtree(tree, ignore_errors=True)
        copy_tree(tree)
        ok_clean, _ = run_tests(tree, m.tests)
        src = (tree / m.path).read_text()
        if src.count(m.old) != 1:
            print(f"mutant {m.name!r}: its text occurs {src.count(m.old)} times in {m.path} "
                  "(expected once); update the mutant", file=sys.stderr)
            return 2
        (tree / m.path).write_text(src.replace(m.old, m.new))
        ok_mut, secs = run_tests(tree, m.tests)
        killed = ok_clean and not ok_mut
        failures += not killed
        print(f"| {m.name} | `{m.path}` | `{' '.join(m.tests)}` | "
              f"{'pass' if ok_clean else 'FAIL'} | {'fail (killed)' if not ok_mut else 'PASS (survives)'}"
              f" | {secs:.0f} |", flush=True)
        if not a.keep:
            shutil.rmtree(tree, ignore_errors=True)
    print(f"\n{len(MUTANTS) - failures}/{len(MUTANTS)} killed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
