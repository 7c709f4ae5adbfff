#!/usr/bin/env bash
# The 3-seed ML-1M table (recipes/cure4rec/ml-1m.yaml, 180 cells) on a GPU, timed.
#
#   benchmarks/gpu_table.sh [DATA_DIR] [RESULTS_DIR]
#
# DATA_DIR: the folder holding ml-1m-cure4rec/ (default: the recipe's dataset.data_dir,
# ../../../shared/datasets from the recipe file). RESULTS_DIR must not hold this recipe's
# results yet (default: a fresh temporary folder), so every cell is computed on the GPU.
# Prints nvidia-smi before, the GPU memory peak (sampled every 5 s) and the wall time.
# Fails clearly (exit 2) on a machine without an NVIDIA GPU or without CUDA in torch.
# Not yet run on a GPU: docs/benchmarks.md has no figure from it.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DATA_DIR=${1:-${DATA_DIR:-}}
RESULTS=${2:-$(mktemp -d "${TMPDIR:-/tmp}/cure4rec-gpu-table.XXXXXX")}

fail() { echo "gpu_table.sh: $*" >&2; exit 2; }
command -v nvidia-smi >/dev/null 2>&1 || fail "no nvidia-smi: this script needs an NVIDIA GPU"
nvidia-smi -L >/dev/null 2>&1 || fail "nvidia-smi finds no GPU: $(nvidia-smi -L 2>&1 | head -1)"
"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" \
  || fail "torch.cuda.is_available() is False ($("$PY" -c 'import torch; print(torch.__version__)'))"
[ -e "$RESULTS/cure4rec-ml-1m" ] && fail "$RESULTS/cure4rec-ml-1m exists: pass a fresh RESULTS_DIR"

echo "== GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
args=(run recipes/cure4rec/ml-1m.yaml --device cuda --results "$RESULTS" --no-progress)
[ -n "$DATA_DIR" ] && args+=(--data-dir "$DATA_DIR")

nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader,nounits -l 5 \
  > "$RESULTS/nvidia-smi.log" 2>/dev/null &
SMI=$!
trap 'kill "$SMI" 2>/dev/null' EXIT
echo "== cure4rec ${args[*]}"
start=$(date +%s.%N)
"$PY" -m cure4rec "${args[@]}"
status=$?
end=$(date +%s.%N)
kill "$SMI" 2>/dev/null
echo "== nvidia-smi after the run"
nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv
awk -F', ' '{ if ($1 > m) m = $1; if ($2 > u) u = $2 } END { printf "GPU memory peak %d MiB, ' \
'utilisation peak %d%% (sampled every 5 s)\n", m, u }' "$RESULTS/nvidia-smi.log"
n=$(ls "$RESULTS"/cure4rec-ml-1m/records/*.json 2>/dev/null | wc -l)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
echo "wall time ${wall} s for ${n} records in $RESULTS/cure4rec-ml-1m (exit ${status})"
exit "$status"
