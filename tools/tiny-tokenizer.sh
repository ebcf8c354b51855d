#!/usr/bin/env bash
# tools/tiny-tokenizer.sh [--corpus-bin PATH] [--rows N] [--seed S] [--vocab N]
#                         [--model-type bpe|unigram] OUT_DIR
# A tiny tokenizer in a Hugging Face-layout folder (docs/gpu.md, "Tokenizer"): trains
# SentencePiece with spm_train on the synthetic planning corpus (expd-planning-corpus,
# --format=text) and writes OUT_DIR/tokenizer.model, tokenizer_config.json and
# special_tokens_map.json. The trainer's settings are LLaMA's (BPE, byte fallback,
# digits split, no normalization, whitespace kept), so any UTF-8 text round-trips, and
# the special ids are LLaMA's: <unk> 0, <s> 1, </s> 2, plus <pad> 3. The same arguments
# write the same model.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/../deploy/lib.sh"

usage() { echo "usage: $0 [--corpus-bin PATH] [--rows N] [--seed S] [--vocab N] [--model-type bpe|unigram] OUT_DIR" >&2; exit 2; }

CORPUS_BIN="$ROOT/build/expd-planning-corpus"
ROWS=2000
SEED=1
VOCAB=384
MODEL_TYPE=bpe
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --corpus-bin) CORPUS_BIN="${2:?}"; shift 2 ;;
    --rows) ROWS="${2:?}"; shift 2 ;;
    --seed) SEED="${2:?}"; shift 2 ;;
    --vocab) VOCAB="${2:?}"; shift 2 ;;
    --model-type) MODEL_TYPE="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) [ -z "$OUT" ] || usage; OUT="$1"; shift ;;
  esac
done
[ -n "$OUT" ] || usage
command -v spm_train >/dev/null || die "spm_train is not installed (deploy/install-deps.sh installs sentencepiece)"
[ -x "$CORPUS_BIN" ] || die "no corpus generator at $CORPUS_BIN (build the expd-planning-corpus target, or pass --corpus-bin)"

mkdir -p "$OUT"
WORK="$(mktemp -d "$OUT/.tiny-tokenizer.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

"$CORPUS_BIN" --rows="$ROWS" --seed="$SEED" --format=text >"$WORK/corpus.txt"
# One thread, and paths relative to the work folder (the model records them): the same
# arguments then write the same bytes.
if ! (cd "$WORK" && spm_train --input=corpus.txt --model_prefix=tokenizer \
    --vocab_size="$VOCAB" --model_type="$MODEL_TYPE" --character_coverage=1.0 \
    --byte_fallback=true --split_digits=true --normalization_rule_name=identity \
    --remove_extra_whitespaces=false --add_dummy_prefix=true --allow_whitespace_only_pieces=true \
    --max_sentence_length=16384 --num_threads=1 \
    --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3 \
    --unk_piece='<unk>' --bos_piece='<s>' --eos_piece='</s>' --pad_piece='<pad>' \
    >spm_train.log 2>&1); then
  tail_log "$WORK/spm_train.log" 20
  die "spm_train failed"
fi

# The token objects are the AddedToken form transformers writes; special_tokens_map.json
# holds the plain strings, as LLaMA checkpoints ship both.
cat >"$WORK/tokenizer_config.json" <<'EOF'
{
  "tokenizer_class": "LlamaTokenizer",
  "add_bos_token": true,
  "add_eos_token": false,
  "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "unk_token": {"__type": "AddedToken", "content": "<unk>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "pad_token": "<pad>",
  "added_tokens_decoder": {
    "0": {"content": "<unk>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
    "1": {"content": "<s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
    "2": {"content": "</s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
    "3": {"content": "<pad>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}
  },
  "clean_up_tokenization_spaces": false,
  "legacy": false,
  "model_max_length": 2048,
  "sp_model_kwargs": {}
}
EOF
cat >"$WORK/special_tokens_map.json" <<'EOF'
{
  "bos_token": "<s>",
  "eos_token": "</s>",
  "unk_token": "<unk>",
  "pad_token": "<pad>"
}
EOF
# Each file renamed into place whole, so none is ever read half-written.
for f in tokenizer_config.json special_tokens_map.json; do mv "$WORK/$f" "$OUT/$f"; done
mv "$WORK/tokenizer.model" "$OUT/tokenizer.model"
