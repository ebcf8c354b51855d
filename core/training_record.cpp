#include "core/training_record.hpp"

#include <charconv>
#include <limits>
#include <map>

#include "core/field_error.hpp"
#include "core/query_string.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

json optional_number(const std::optional<double>& x) {
  return x ? json(*x) : json(nullptr);
}

json optional_text(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

std::uint64_t whole_parameter(const std::map<std::string, std::string>& params,
                              const char* name, std::uint64_t fallback, std::uint64_t max) {
  auto it = params.find(name);
  if (it == params.end())
    return fallback;
  auto& s = it->second;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size() || n > max)
    throw field_error(name, std::string{name} + " must be a whole number from 0 to "
                              + std::to_string(max) + ", not \"" + s + "\"");
  return n;
}

} // namespace

json training_summary_json(const training_record& r) {
  auto eta = training_eta_seconds(r.step, r.total_steps, r.tokens,
                                  r.tokens_per_second.value_or(0));
  return {{"id", r.id},
          {"name", r.name},
          {"status", to_string(r.status)},
          {"reason", optional_text(r.reason)},
          {"cancel_requested", r.cancel_requested},
          {"step", r.step},
          {"total_steps", r.total_steps == 0 ? json(nullptr) : json(r.total_steps)},
          {"loss", optional_number(r.loss)},
          {"learning_rate", optional_number(r.learning_rate)},
          {"tokens_per_second", optional_number(r.tokens_per_second)},
          {"tokens", r.tokens},
          {"eta_seconds", is_final(r.status) ? json(nullptr) : optional_number(eta)},
          {"ranks", r.ranks},
          {"failures", r.failures},
          {"max_failures", r.max_failures},
          {"error", optional_text(r.error)},
          {"checkpoint", optional_text(r.checkpoint)},
          {"created_at", r.created_at},
          {"started_at", optional_text(r.started_at)},
          {"finished_at", optional_text(r.finished_at)}};
}

json training_record_json(const training_record& r) {
  auto out = training_summary_json(r);
  out["spec"] = r.spec;
  return out;
}

json training_log_json(const training_log_row& row) {
  return {{"seq", row.seq},
          {"at", row.at},
          {"step", row.step},
          {"loss", optional_number(row.loss)},
          {"learning_rate", optional_number(row.learning_rate)},
          {"grad_norm", optional_number(row.grad_norm)},
          {"tokens_per_second", optional_number(row.tokens_per_second)},
          {"message", optional_text(row.message)}};
}

training_log_query parse_training_log_query(std::string_view query) {
  auto params = parse_query_parameters(query, {"after", "limit"});
  training_log_query q;
  q.after = whole_parameter(params, "after", 0, std::numeric_limits<std::int64_t>::max());
  q.limit = static_cast<std::uint32_t>(
    whole_parameter(params, "limit", q.limit, max_training_log_limit));
  if (q.limit == 0)
    throw field_error("limit", "limit must be from 1 to " + std::to_string(max_training_log_limit));
  return q;
}

} // namespace expd::core
