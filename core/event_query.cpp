#include "core/event_query.hpp"

#include <charconv>

#include "core/field_error.hpp"
#include "core/query_string.hpp"

namespace expd::core {

namespace {

long long number(const std::string& text, const std::string& field, long long lo, long long hi) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
    throw field_error(field, field + " must be a whole number from " + std::to_string(lo)
                               + " to " + std::to_string(hi));
  return v;
}

} // namespace

event_query parse_event_query(std::string_view query_string, unix_micros now) {
  auto params = parse_query_parameters(
    query_string, {"unit_id", "experiment_id", "event_type", "limit", "hours", "cursor"});
  event_query q;
  q.before = now;
  q.window = 24LL * 3600 * 1000000;
  for (auto& [key, value] : params) {
    if (key == "unit_id") {
      if (value.empty() || value.size() > 256)
        throw field_error(key, "unit_id must be 1 to 256 bytes");
      q.unit_id = value;
    } else if (key == "experiment_id") {
      q.experiment_id = uuid::parse(value);
      if (!q.experiment_id)
        throw field_error(key, "experiment_id must be a UUID");
    } else if (key == "event_type") {
      if (value.empty() || value.size() > 128)
        throw field_error(key, "event_type must be 1 to 128 characters");
      q.event_type = value;
    } else if (key == "limit") {
      q.limit = static_cast<std::size_t>(
        number(value, key, 1, static_cast<long long>(max_event_query_limit)));
    } else if (key == "hours") {
      q.window = number(value, key, 1, max_event_query_window / 3600000000LL) * 3600000000LL;
    } else if (key == "cursor") {
      // "<micros>_<uuid>", as the previous page's "next" said.
      auto sep = value.find('_');
      auto id = sep == std::string::npos ? std::nullopt : uuid::parse(value.substr(sep + 1));
      if (!id)
        throw field_error(key, "cursor must be the \"next\" value of the previous page");
      q.before = number(value.substr(0, sep), key, 0, now + max_event_query_window);
      q.before_id = *id;
    } else {
      throw field_error(key, "unknown parameter " + key
                               + " (unit_id, experiment_id, event_type, limit, hours, cursor)");
    }
  }
  if (q.unit_id.empty() == !q.experiment_id)
    throw field_error(q.unit_id.empty() ? "unit_id" : "experiment_id",
                      "give exactly one of unit_id and experiment_id");
  return q;
}

} // namespace expd::core
