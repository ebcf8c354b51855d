#include "core/generation.hpp"

#include <algorithm>
#include <cmath>

namespace expd::core {

namespace {

using refusal = generation_refusal;

refusal invalid(std::string field, std::string message) {
  return {refusal::kind::invalid, std::move(field), std::move(message)};
}

refusal over_limit(std::string field, std::string message) {
  return {refusal::kind::over_limit, std::move(field), std::move(message)};
}

std::string n(std::uint64_t x) {
  return std::to_string(x);
}

// The first token id outside the vocabulary, as its index; nullopt when all are inside.
std::optional<std::size_t> outside_vocabulary(const std::vector<std::int32_t>& ids,
                                              std::int64_t vocab_size) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab_size)
      return i;
  return std::nullopt;
}

std::string vocabulary_message(const std::string& field, std::int32_t id, std::int64_t vocab) {
  return field + " is token " + std::to_string(id) + ", not one of the model's 0 to "
         + std::to_string(vocab - 1);
}

} // namespace

std::string_view to_string(finish_reason reason) {
  switch (reason) {
    case finish_reason::stop: return "stop";
    case finish_reason::length: return "length";
  }
  return "unknown";
}

generation_limits fit_to_model(generation_limits limits, std::int64_t max_positions,
                               std::optional<std::int64_t> sliding_window,
                               std::int64_t vocab_size) {
  auto positions = sliding_window ? std::min(max_positions, *sliding_window) : max_positions;
  if (positions < static_cast<std::int64_t>(limits.max_sequence))
    limits.max_sequence = static_cast<std::uint32_t>(std::max<std::int64_t>(positions, 0));
  limits.vocab_size = vocab_size;
  return limits;
}

std::optional<generation_refusal> check_generation_request(const generation_request& r,
                                                           const generation_limits& limits) {
  if (r.id.size() > limits.max_id_length)
    return over_limit("id", "id has " + n(r.id.size()) + " bytes; at most "
                              + n(limits.max_id_length) + " are taken");
  if (r.prompt.empty())
    return invalid("prompt", "prompt must hold at least one token");
  if (r.prompt.size() >= limits.max_sequence)
    return over_limit("prompt", "prompt has " + n(r.prompt.size()) + " tokens; this model takes "
                                  + n(limits.max_sequence)
                                  + " in all, prompt and max_new_tokens (at least 1) together");
  if (auto at = outside_vocabulary(r.prompt, limits.vocab_size)) {
    auto field = "prompt[" + n(*at) + "]";
    return invalid(field, vocabulary_message(field, r.prompt[*at], limits.vocab_size));
  }
  if (r.max_new_tokens == 0)
    return invalid("max_new_tokens", "max_new_tokens must be at least 1");
  if (r.prompt.size() + r.max_new_tokens > limits.max_sequence)
    return over_limit("max_new_tokens",
                      "prompt of " + n(r.prompt.size()) + " tokens + max_new_tokens "
                        + n(r.max_new_tokens) + " is over the " + n(limits.max_sequence)
                        + " tokens this model takes; at most "
                        + n(limits.max_sequence - r.prompt.size()) + " new tokens fit");
  if (!std::isfinite(r.temperature) || r.temperature < 0)
    return invalid("temperature", "temperature must be 0 (greedy) or above, and finite");
  if (!(r.top_p > 0 && r.top_p <= 1))
    return invalid("top_p", "top_p must be above 0 and at most 1");
  if (r.stop.size() > limits.max_stop_sequences)
    return over_limit("stop", "stop has " + n(r.stop.size()) + " sequences; at most "
                                + n(limits.max_stop_sequences) + " are taken");
  for (std::size_t i = 0; i < r.stop.size(); ++i) {
    auto field = "stop[" + n(i) + "]";
    if (r.stop[i].empty())
      return invalid(field, field + " must hold at least one token");
    if (r.stop[i].size() > limits.max_stop_length)
      return over_limit(field, field + " has " + n(r.stop[i].size()) + " tokens; at most "
                                 + n(limits.max_stop_length) + " are taken");
    if (auto at = outside_vocabulary(r.stop[i], limits.vocab_size)) {
      auto element = field + "[" + n(*at) + "]";
      return invalid(element, vocabulary_message(element, r.stop[i][*at], limits.vocab_size));
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> matched_stop(const std::vector<std::int32_t>& generated,
                                        const std::vector<std::vector<std::int32_t>>& stops) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < stops.size(); ++i) {
    auto& s = stops[i];
    if (s.empty() || s.size() > generated.size()
        || (best && s.size() <= stops[*best].size()))
      continue;
    if (std::equal(s.rbegin(), s.rend(), generated.rbegin()))
      best = i;
  }
  return best;
}

} // namespace expd::core
