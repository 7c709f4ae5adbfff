#!/usr/bin/env bash
# Mutation testing of the numeric core with mutmut (a maintained tool, kept OUT of the
# project's dependencies: this script installs it into the interpreter it runs with).
#
#   bash benchmarks/mutation.sh                    # every module below
#   bash benchmarks/mutation.sh metrics/ranking    # some of them
#
# Each module is mutated in its own throwaway copy of the tracked tree (under $WORK), with
# only the fast tests that exercise it, under `nice -n 15` and a per-module time cap
# ($CAP seconds). Prints the kill rate per module: killed / checked mutants, where timeouts
# count as killed and "no tests" (no selected test reaches the mutated function) as not
# killed; mutants left unchecked by the time cap are counted under "other" and excluded.
# Survivors and their diffs: $WORK/<module>/survivors.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
WORK=${WORK:-/tmp/cure4rec-mutation}
CAP=${CAP:-900}
JOBS=${JOBS:-1}
MUTMUT_VERSION=3.8.1
export RAY_USAGE_STATS_ENABLED=0 OMP_NUM_THREADS=1

"$PY" -c "import mutmut" 2>/dev/null || "$PY" -m pip install -q "mutmut==$MUTMUT_VERSION"
MUTMUT="$(dirname "$PY")/mutmut"

# module (under cure4rec/) -> the fast tests that pin it
declare -A TESTS=(
  [metrics/ranking]="tests/metrics/test_ranking.py"
  [metrics/fairness]="tests/metrics/test_fairness.py tests/metrics/test_fairness_published.py"
  [metrics/difficulty]="tests/metrics/test_difficulty.py"
  [metrics/recovery]="tests/metrics/test_recovery.py tests/metrics/test_recovery_known.py tests/metrics/test_recovery_pipeline.py tests/metrics/test_recovery_mutants.py"
  [metrics/efficiency]="tests/metrics/test_efficiency.py"
  [metrics/catalog]="tests/metrics/test_evaluator.py tests/leaderboard/test_leaderboard.py tests/metrics/test_catalog_known.py"
  [metrics/calibrated]="tests/metrics/test_calibrated.py tests/metrics/test_calibrated_known.py tests/metrics/test_calibrated_mutants.py"
  [metrics/completeness]="tests/metrics/test_completeness.py tests/metrics/test_completeness_mask.py tests/metrics/test_completeness_known.py tests/metrics/test_completeness_wiring.py"
  [metrics/mia]="tests/metrics/test_mia.py tests/metrics/test_mia_negatives.py tests/metrics/test_mia_known.py tests/metrics/test_mia_parts.py tests/metrics/test_mia_protocol.py"
  [metrics/unlearning_mia]="tests/metrics/test_mia.py"
  [metrics/attribute_attack]="tests/fairness/test_attack.py tests/fairness/test_attack_known.py"
  [runner/records]="tests/runner/test_records.py tests/runner/test_records_fields.py tests/runner/test_torn_write.py tests/runner/test_resume_hash.py tests/robustness/test_robust_results.py tests/runner/test_records_mutants.py"
  [methods/sharded]="tests/methods/test_sharded.py tests/methods/test_sharded_mutants.py"
  [leaderboard/build]="tests/leaderboard/test_leaderboard.py tests/leaderboard/test_build_sections.py tests/leaderboard/test_separation.py tests/leaderboard/test_cite.py tests/leaderboard/test_build_mutants.py"
)
ORDER=(metrics/ranking metrics/fairness metrics/difficulty metrics/recovery metrics/efficiency
       metrics/catalog metrics/calibrated metrics/completeness metrics/mia metrics/unlearning_mia
       metrics/attribute_attack runner/records methods/sharded
       leaderboard/build)
[ $# -gt 0 ] && ORDER=("$@")

summary=()
t_all=$(date +%s)
for mod in "${ORDER[@]}"; do
  tests=${TESTS[$mod]:-}
  if [ -z "$tests" ]; then echo "unknown module $mod; known: ${!TESTS[*]}" >&2; exit 2; fi
  dir="$WORK/${mod//\//_}"
  rm -rf "$dir" && mkdir -p "$dir"
  git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$dir"
  # the modules' tests as written in this working tree (may be uncommitted)
  for t in $tests; do [ -e "$t" ] && cp -r "$t" "$dir/$(dirname "$t")/"; done
  sel=$(for t in $tests; do [ -e "$t" ] && printf '"%s", ' "$t"; done)
  if [ -z "$sel" ]; then echo "$mod: none of its tests ($tests) exist; skipped" >&2; continue; fi
  cat >> "$dir/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["cure4rec"]
only_mutate = ["cure4rec/$mod.py"]
pytest_add_cli_args_test_selection = [${sel%, }]
pytest_add_cli_args = ["-m", "not slow and not ray and not browser", "-p", "no:cacheprovider"]
also_copy = ["tests"]
TOML
  t0=$(date +%s)
  (cd "$dir" && timeout "$CAP" nice -n 15 "$MUTMUT" run --max-children "$JOBS" \
       >"$dir/run.log" 2>&1)
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  (cd "$dir" && "$MUTMUT" results --all true 2>/dev/null) >"$dir/results.txt"
  line=$("$PY" - "$dir" "$mod" "$secs" "$rc" "$MUTMUT" <<'PY'
import subprocess, sys
from collections import Counter
d, mod, secs, rc, mutmut = sys.argv[1:]
status = {}
for ln in open(f"{d}/results.txt"):
    if ": " in ln and "__mutmut_" in ln:
        name, st = ln.strip().rsplit(": ", 1)
        status[name] = st
c = Counter(status.values())
n = len(status)
killed = c["killed"] + c["timeout"]
checked = killed + c["survived"] + c["no tests"]  # not "not checked" (time cap hit)
rate = 100.0 * killed / checked if checked else float("nan")
survivors = sorted(k for k, v in status.items() if v in ("survived", "no tests"))
with open(f"{d}/survivors.txt", "w") as f:
    for s in survivors:
        f.write(f"## {s}: {status[s]}\n")
        f.write(subprocess.run([mutmut, "show", s], cwd=d, capture_output=True,
                               text=True).stdout + "\n")
note = "" if rc == "0" else f"  (mutmut exit {rc}{', time cap hit' if rc == '124' else ''})"
other = n - checked  # not checked (cap), suspicious, segfault, ...
print(f"{mod:22s} {n:5d} {killed:7d} {c['survived']:8d} {c['no tests']:8d} {other:6d} "
      f"{rate:6.1f}% {secs:>6s}s{note}")
PY
)
  echo "$line"
  summary+=("$line")
done
echo
echo "module                 mutants  killed survived no-tests  other   kill     time"
printf '%s\n' "${summary[@]}"
echo "total time: $(( $(date +%s) - t_all )) s   (survivors: $WORK/<module>/survivors.txt)"
