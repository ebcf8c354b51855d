#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// What a text generation request may ask and how it ends, as plain logic: the inference
// worker (gpu/inference_worker) checks each request here before it queues it, and
// gpu/generation ends rows with matched_stop (docs/gpu.md, "Batched inference").
namespace expd::core {

/// One completion asked of the inference worker, in token ids: the node tokenises and
/// detokenises, since the gpu process cannot load the tokenizer (docs/gpu.md).
struct generation_request {
  std::string id;                   ///< the caller's, for tracing; echoed in the result
  std::vector<std::int32_t> prompt; ///< token ids, at least one
  /// Tokens to generate at most, a matched stop sequence's included.
  std::uint32_t max_new_tokens = 16;
  double temperature = 0; ///< 0: greedy (the likeliest token), else softmax(logits / T)
  double top_p = 1;       ///< sample from the likeliest tokens holding this much probability
  std::uint32_t top_k = 0; ///< sample from the k likeliest tokens only; 0: no such cut
  std::uint64_t seed = 0;  ///< one seed, one completion, whatever the batch
  /// Token-id sequences that end the completion when it ends with one; the matched one
  /// is not part of the output. An end-of-sequence token is one of these for the caller.
  std::vector<std::vector<std::int32_t>> stop;
};

/// Why a completion ended: a stop sequence came, or max_new_tokens were generated.
enum class finish_reason : std::uint8_t { stop, length };

/// "stop" or "length", as OpenAI's and vLLM's APIs name them.
std::string_view to_string(finish_reason reason);

/// What one worker takes: every cap bounds memory (the KV cache is batch rows x
/// sequence), so a request over one is refused instead of running the worker out.
struct generation_limits {
  std::uint32_t max_sequence = 2048; ///< prompt + max_new_tokens; at most the model's positions
  std::uint32_t max_stop_sequences = 8;
  std::uint32_t max_stop_length = 32; ///< tokens of one stop sequence
  std::uint32_t max_id_length = 256;  ///< bytes of the request id
  std::int64_t vocab_size = 0;        ///< token ids are below it
};

/// The limits a model can serve: max_sequence no longer than its positions (and its
/// attention window, past which it refuses positions), ids below its vocabulary.
generation_limits fit_to_model(generation_limits limits, std::int64_t max_positions,
                               std::optional<std::int64_t> sliding_window,
                               std::int64_t vocab_size);

/// Why a request is refused: a value no request may have (invalid), or one over this
/// worker's caps (over_limit). `field` is the request's field ("stop[1][0]").
struct generation_refusal {
  enum class kind { invalid, over_limit };
  kind why = kind::invalid;
  std::string field;
  std::string message;
};

/// The first fault of `request` under `limits`, or nullopt when it may run.
std::optional<generation_refusal> check_generation_request(const generation_request& request,
                                                           const generation_limits& limits);

/// The longest stop sequence that `generated` ends with (so the earliest cut when one
/// is the end of another), as its index in `stops`; nullopt when none.
std::optional<std::size_t> matched_stop(const std::vector<std::int32_t>& generated,
                                        const std::vector<std::vector<std::int32_t>>& stops);

} // namespace expd::core
