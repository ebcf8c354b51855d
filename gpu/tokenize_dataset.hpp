#pragma once

#include <cstddef>
#include <vector>

#include "gpu/tokenizer.hpp"
#include "runtime/parquet_dataset.hpp"

// A text dataset as token rows for one tokenizer (docs/gpu.md, "Tokenizer"). No torch
// here: expd-tokenize runs it in a process of its own, since SentencePiece and libtorch
// cannot share one.
namespace expd::gpu {

/// The token rows of a text dataset, and what did not fit in max_length.
struct tokenized_dataset {
  runtime::token_rows rows;           ///< no metadata: the caller knows what it came from
  std::size_t truncated = 0;          ///< rows whose target was cut to fit
  std::vector<std::size_t> skipped;   ///< the text rows left out (indices, in order)
};

/// Each row of `text` as [bos] + encode(input) + encode(target) + [eos], bos and eos as
/// the tokenizer's default_added() says; target_start is where encode(target) begins.
/// A row longer than `max_length` is cut from the end (the eos first, then the
/// target's last tokens). A row with no target token within `max_length` (its input
/// alone fills it, or its target encodes to nothing and no eos follows) is skipped and
/// its index recorded: one over-long context does not stop a whole dataset.
tokenized_dataset tokenize_dataset(const runtime::text_rows& text, const tokenizer& tok, std::size_t max_length);

} // namespace expd::gpu
