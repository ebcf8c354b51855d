#!/usr/bin/env bash
# LoRA training throughput of expd's trainer (build/bench/expd_train_bench) against the
# same steps in PyTorch eager (bench/train_throughput.py, Debian's /usr/bin/python3), in
# one run; then data-parallel scaling of both. See docs/benchmarks.md, "Training (issue 12)".
# Builds nothing: first `cmake --build build --target expd_train_bench -j2`.
# Usage: bench/train_vs_pytorch.sh [rounds] [steps] [part]
#   rounds: every setting's runs alternate this many times (default 5; the order flips
#   each round) and medians are reported, as this shared machine is noisy.
#   steps: timed steps per run (default 4), after 1 untimed warm-up step. Debian's
#   libtorch multiplies matrices with the netlib reference BLAS (about 2 GFLOP/s, one
#   thread), so the defaults are small: batch 2 x 128 tokens, some 7 s a step.
#   part: "threads" (expd against PyTorch at 1 and 2 threads), "ranks" (data parallel)
#   or "all" (default).
# The checkpoint (make_tiny_checkpoint.py bench) is made once in
# ${EXPD_TRAIN_BENCH_MODEL:-var/bench-llama}. EXPD_TRAIN_BENCH_FLAGS adds flags to both
# sides (--lora-rank, --targets, ...); EXPD_TRAIN_BENCH_BATCH and EXPD_TRAIN_BENCH_SEQ
# set the rows per rank and their length.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
steps=${2:-4}
part=${3:-all}
model=${EXPD_TRAIN_BENCH_MODEL:-var/bench-llama}
batch=${EXPD_TRAIN_BENCH_BATCH:-2}
seq=${EXPD_TRAIN_BENCH_SEQ:-128}
bench=build/bench/expd_train_bench
python=/usr/bin/python3
[ -x "$bench" ] || { echo "no $bench: cmake --build build --target expd_train_bench -j2" >&2; exit 2; }
mkdir -p "$(dirname "$model")"
"$python" tests/gpu/make_tiny_checkpoint.py bench "$model"
work=$(mktemp -d /tmp/expd-train-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2206  # the extra flags are words
common=(--model="$model" --steps="$steps" --warmup-steps=1 --seq="$seq" ${EXPD_TRAIN_BENCH_FLAGS:-})

# A run: side (expd or pytorch), threads, batch, ranks. Prints rank 0's JSON line. Ranks
# are processes of --threads each, meeting through a fresh store file.
run() {
  local side=$1 threads=$2 rows=$3 ranks=$4 cmd
  if [ "$side" = expd ]; then cmd=("$bench"); else cmd=("$python" bench/train_throughput.py); fi
  cmd+=("${common[@]}" --threads="$threads" --batch="$rows")
  if [ "$ranks" = 1 ]; then
    "${cmd[@]}"
    return
  fi
  local store="$work/store-$RANDOM$RANDOM" others=() r
  for r in $(seq 1 $((ranks - 1))); do
    "${cmd[@]}" --world-size="$ranks" --rank="$r" --store="$store" >/dev/null &
    others+=($!)
  done
  "${cmd[@]}" --world-size="$ranks" --rank=0 --store="$store"
  wait "${others[@]}"
}
field() { "$python" -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
# An awk expression of run i's column c<i> in $work/rounds (or in the file $2), a line a round.
column() { awk "{ c1 = \$2; c2 = \$3; c3 = \$4; c4 = \$5; print $1 }" "${2:-$work/rounds}"; }
# The median of an awk expression of the columns (column, above), to 3 decimals.
median3() { column "$@" | median | awk '{ printf "%.3f", $1 }'; }

# The runs named "side:threads:batch:ranks", alternating for $rounds rounds (reversed
# every other round). $work/rounds gets one line per round: its tokens/s in that order;
# $work/cpu the same with CPU seconds per step (rank 0's process); $work/<run>.json the
# first round's JSON of each run.
measure() {
  local runs=("$@") order r line cpu_line
  : >"$work/rounds"
  : >"$work/cpu"
  for round in $(seq "$rounds"); do
    order=("${runs[@]}")
    [ $((round % 2)) = 0 ] && mapfile -t order < <(printf "%s\n" "${runs[@]}" | tac)
    declare -A got=() cpu=()
    for r in "${order[@]}"; do
      local out side threads rows ranks
      IFS=: read -r side threads rows ranks <<<"$r"
      out=$(run "$side" "$threads" "$rows" "$ranks")
      got[$r]=$(field tokens_per_second <<<"$out")
      cpu[$r]=$(field cpu_seconds_per_step <<<"$out")
      [ "$round" = 1 ] && echo "$out" >"$work/$r.json"
    done
    line=$round cpu_line=$round
    for r in "${runs[@]}"; do
      line+=" ${got[$r]}"
      cpu_line+=" ${cpu[$r]}"
    done
    echo "$line" >>"$work/rounds"
    echo "$cpu_line" >>"$work/cpu"
    echo "  round $line  (tokens/s; CPU s/step: ${cpu_line#* })" >&2
  done
}
# The same computation on both sides: the first and last steps' losses agree.
check_losses() {
  local a b which
  for which in first_loss last_loss; do
    a=$(field "$which" <"$work/$1.json")
    b=$(field "$which" <"$work/$2.json")
    awk -v w="$which" -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d;
      printf "  %s: expd %.7f pytorch %.7f |diff| %.1e\n", w, a, b, d; exit (d > 1e-4) }' \
      || { echo "the two sides' losses differ: not the same computation" >&2; exit 1; }
  done
}

echo "$(nproc) cores: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')   $rounds rounds x $steps steps, batch $batch x $seq"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$part" != ranks ]; then
  for threads in 1 2; do
    measure "expd:$threads:$batch:1" "pytorch:$threads:$batch:1"
    [ "$threads" = 1 ] && echo "settings: $(cat "$work/expd:1:$batch:1.json")"
    printf '%-8s %-6s %12s %14s %7s\n' threads round expd_tok/s pytorch_tok/s ratio
    awk -v t="$threads" '{ printf "%-8s %-6s %12.1f %14.1f %7.3f\n", t, $1, $2, $3, $2 / $3 }' "$work/rounds"
    printf '%-8s %-6s %12.1f %14.1f %7.3f\n' "$threads" median "$(column c1 | median)" \
      "$(column c2 | median)" "$(column 'c1 / c2' | median)"
    echo "  CPU seconds per step (medians): expd $(median3 c1 "$work/cpu")  pytorch $(median3 c2 "$work/cpu")"
    check_losses "expd:$threads:$batch:1" "pytorch:$threads:$batch:1"
  done
fi
if [ "$part" != threads ]; then
  # Data parallel on 2 cores, weak scaling: each of 2 ranks (1 thread each) trains the
  # batch that 1 rank of 1 thread trains; efficiency = tokens/s of the 2 ranks over 2 x
  # tokens/s of the 1 rank, per round, then the median.
  measure "expd:1:$batch:1" "expd:1:$batch:2" "pytorch:1:$batch:1" "pytorch:1:$batch:2"
  printf '%-6s %12s %12s %7s %14s %14s %7s\n' round expd_1x1 expd_2x1 eff pytorch_1x1 pytorch_2x1 eff
  awk '{ printf "%-6s %12.1f %12.1f %7.3f %14.1f %14.1f %7.3f\n", $1, $2, $3, $3 / (2 * $2), $4, $5, $5 / (2 * $4) }' "$work/rounds"
  printf '%-6s %12.1f %12.1f %7.3f %14.1f %14.1f %7.3f\n' median "$(column c1 | median)" \
    "$(column c2 | median)" "$(column 'c2 / (2 * c1)' | median)" "$(column c3 | median)" \
    "$(column c4 | median)" "$(column 'c4 / (2 * c3)' | median)"
  echo "2 ranks, expd/pytorch tokens/s: $(median3 'c2 / c4') (median of rounds)"
  # The work data parallelism adds, whatever else the machine runs: CPU seconds of a
  # rank's step alone over a rank's step of two (the same rows per rank).
  echo "CPU-time efficiency (1 rank's CPU s/step over rank 0's of 2), medians: expd $(median3 'c1 / c2' "$work/cpu")  pytorch $(median3 'c3 / c4' "$work/cpu")"
  check_losses "expd:1:$batch:2" "pytorch:1:$batch:2"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
