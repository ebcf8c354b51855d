#pragma once

#include <cstdint>
#include <vector>

#include "core/generation.hpp"
#include "gpu/llama_model.hpp"

namespace expd::gpu {

/// What generate gives for one request.
struct generated_sequence {
  std::vector<std::int32_t> tokens; ///< a matched stop sequence left out
  core::finish_reason reason = core::finish_reason::length;
  std::int32_t stop_index = -1; ///< the request's stop sequence that matched; -1: none
  std::uint32_t generated = 0;  ///< tokens the model produced, a matched stop sequence's included
};

/// Completions of every request together, on the model's device, without gradients and
/// in eval mode (docs/gpu.md, "Batched inference"). The prompts are left-padded to the
/// longest (padding at position -1, seen by no query) and run as one prefill with the
/// KV cache; then each step feeds every unfinished row its last token at its own next
/// position. A row's next token is the argmax when its temperature is 0, else drawn from
/// softmax(logits / temperature) cut to its top_k likeliest and its top_p nucleus, with
/// a CPU torch generator seeded by its seed (so one seed gives one completion on any
/// device and in any batch, up to the device's rounding). A row ends when its output
/// ends with one of its stop sequences (left out of the output) or when it has
/// max_new_tokens; ended rows leave the batch and its cache. The requests must have
/// passed core::check_generation_request under this model's limits.
std::vector<generated_sequence> generate(llama_model& model,
                                         const std::vector<core::generation_request>& requests);

} // namespace expd::gpu
