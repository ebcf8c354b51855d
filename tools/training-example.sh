#!/usr/bin/env bash
# tools/training-example.sh: the inputs jobs/planner-lora.example.yml names, made here
# since no weights can be downloaded: a tiny random LLaMA checkpoint with the tiny
# tokenizer beside it (var/models/tiny-llama) and the planning corpus as a Parquet
# dataset (var/datasets/planner/example/training.parquet). Kept when already there.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/../deploy/lib.sh"
cd "$ROOT"

MODEL="$VAR/models/tiny-llama"
DATASET="$VAR/datasets/planner/example/training.parquet"
CORPUS_BIN="$ROOT/build/expd-planning-corpus"
VOCAB=384 # the tiny tokenizer's; the checkpoint's vocabulary must match it

[ -x "$CORPUS_BIN" ] || die "$CORPUS_BIN not found; build first (deploy/build.sh)"
if [ ! -f "$MODEL/tokenizer.model" ]; then
  note "a tiny LLaMA checkpoint and its tokenizer in var/models/tiny-llama"
  rm -rf "$MODEL"
  mkdir -p "$(dirname "$MODEL")"
  # Debian's python3 has torch (the venv does not): the checkpoint generator of the tests.
  /usr/bin/python3 tests/gpu/make_tiny_checkpoint.py sized "$MODEL" "$VOCAB" \
    || die "making the tiny checkpoint failed (is python3-torch installed? deploy/install-deps.sh)"
  bash tools/tiny-tokenizer.sh --vocab "$VOCAB" --corpus-bin "$CORPUS_BIN" "$MODEL"
fi
if [ ! -f "$DATASET" ]; then
  note "the planning corpus as a Parquet dataset in ${DATASET#"$ROOT"/}"
  mkdir -p "$(dirname "$DATASET")"
  "$CORPUS_BIN" --rows=96 --seed=7 --format=parquet --out="$DATASET"
fi
