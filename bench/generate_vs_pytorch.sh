#!/usr/bin/env bash
# Batched generation: gpu::generate (bench/generate_throughput.cpp) against PyTorch
# eager's generate loop (bench/generate_throughput.py) on the same random checkpoint
# (make_tiny_checkpoint.py generation-bench: hidden 512, 6 layers, GQA, vocabulary
# 8192), the same prompts, greedy, the same threads and the same BLAS. Prints tokens/s
# at each batch size for both sides (medians over alternating rounds, so a burst of
# noise on a shared machine hits both), expd over PyTorch, and expd's batch-32 over
# batch-1 ratio (issue 12: at least 5). See docs/benchmarks.md.
# Needs: build/bench/expd_generate_bench (make expd_generate_bench).
# Usage: bench/generate_vs_pytorch.sh [rounds] [threads] [prompt] [new]
#   defaults 5 rounds, 1 thread (the 2 cores here are shared: two threads each lose more
#   to the neighbours than they gain), 32-token prompts, 64 new tokens.
# BLAS=netlib runs Debian's default libblas3 (netlib's reference BLAS, ~1.5 GFLOP/s
# whatever the batch); the default, BLAS=openblas, fetches Debian's libopenblas0-pthread
# with apt-get download into var/openblas (once) and puts it first on LD_LIBRARY_PATH,
# for both sides, without installing it. OpenBLAS 0.3.21 does not know every CPU (this
# machine's Xeon) and then falls back to its Prescott (SSE3) kernels, so unless
# OPENBLAS_CORETYPE is set the script names the kernels by the CPU's flags.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
threads=${2:-1}
prompt=${3:-32}
new=${4:-64}
build=${BUILD:-build}
python=${EXPD_TORCH_PYTHON:-/usr/bin/python3}
model=$build/generation-bench-model
"$python" tests/gpu/make_tiny_checkpoint.py generation-bench "$model"

if [ "${BLAS:-openblas}" = openblas ]; then
  lib=var/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
  if [ ! -e "$lib/libblas.so.3" ]; then
    mkdir -p var/openblas
    (cd var/openblas && apt-get download libopenblas0-pthread >/dev/null 2>&1 && dpkg -x libopenblas0-pthread_*.deb .)
  fi
  export LD_LIBRARY_PATH="$PWD/$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export OPENBLAS_NUM_THREADS=$threads
  if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    flags=$(grep -m1 '^flags' /proc/cpuinfo)
    case "$flags" in
      *avx512f*) export OPENBLAS_CORETYPE=SkylakeX ;;
      *avx2*) export OPENBLAS_CORETYPE=Haswell ;;
    esac
  fi
fi

results=$(mktemp /tmp/expd-generate-bench.XXXXXX)
trap 'rm -f "$results"' EXIT
args=(--model="$model" --batches=1,8,32 --prompt="$prompt" --new="$new" --threads="$threads")
for round in $(seq "$rounds"); do
  # Alternating who goes first.
  if [ $((round % 2)) = 1 ]; then
    "$build/bench/expd_generate_bench" "${args[@]}" >>"$results"
    "$python" bench/generate_throughput.py "${args[@]}" >>"$results"
  else
    "$python" bench/generate_throughput.py "${args[@]}" >>"$results"
    "$build/bench/expd_generate_bench" "${args[@]}" >>"$results"
  fi
done

"$python" - "$results" "${BLAS:-openblas} ${OPENBLAS_CORETYPE:-}" "$threads" <<'PY'
import json, statistics, sys
from collections import defaultdict
rows = [json.loads(line) for line in open(sys.argv[1])]
rate, completions = defaultdict(list), {}
for r in rows:
    rate[r["side"], r["batch"]].append(r["tokens_per_second"])
    completions[r["side"], r["batch"]] = json.loads(r["tokens_json"])
print(f"BLAS {sys.argv[2]}, {sys.argv[3]} threads, {len(rate['expd', 1])} rounds (tokens/s: median, lowest-highest)")
print("| batch | expd | PyTorch eager | expd / PyTorch | rows alike |")
print("|---|---|---|---|---|")
median = {k: statistics.median(v) for k, v in rate.items()}
for batch in sorted({b for _, b in rate}):
    e, p = median["expd", batch], median["pytorch", batch]
    a, b = completions["expd", batch], completions["pytorch", batch]
    alike = sum(x == y for x, y in zip(a, b))
    spread = lambda side: f"{min(rate[side, batch]):.0f}-{max(rate[side, batch]):.0f}"
    print(f"| {batch} | {e:.1f} ({spread('expd')}) | {p:.1f} ({spread('pytorch')}) | {e / p:.2f} | {alike}/{len(a)} |")
print(f"expd batch 32 / batch 1: {median['expd', 32] / median['expd', 1]:.2f} (target: at least 5); "
      f"PyTorch's: {median['pytorch', 32] / median['pytorch', 1]:.2f}")
PY
