#include "core/metric_aggregate.hpp"

#include <nlohmann/json.hpp>

#include "core/field_error.hpp"
#include "core/json_parse.hpp"

namespace expd::core {

namespace {

constexpr unix_micros micros_per_hour = 3600LL * 1000000;
constexpr unix_micros micros_per_day = 24 * micros_per_hour;

unix_micros floor_to(unix_micros t, unix_micros step) noexcept {
  auto q = t / step;
  if (t % step != 0 && t < 0)
    --q;
  return q * step;
}

unix_micros required_time(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null())
    throw field_error(key, std::string{key} + " is required (RFC 3339, e.g. 2025-01-01T00:00:00Z)");
  if (!it->is_string())
    throw field_error(key, std::string{key} + " must be an RFC 3339 date-time string");
  auto t = parse_rfc3339(it->get_ref<const std::string&>());
  if (!t)
    throw field_error(key, std::string{key} + " is not an RFC 3339 date-time");
  return *t;
}

} // namespace

std::string_view to_string(aggregate_granularity g) noexcept {
  switch (g) {
  case aggregate_granularity::hour: return "hour";
  case aggregate_granularity::day: return "day";
  case aggregate_granularity::experiment: return "experiment";
  }
  return "hour";
}

std::optional<aggregate_granularity> parse_aggregate_granularity(std::string_view text) noexcept {
  for (auto g : {aggregate_granularity::hour, aggregate_granularity::day,
                 aggregate_granularity::experiment})
    if (text == to_string(g))
      return g;
  return std::nullopt;
}

std::optional<double> metric_moments::mean() const noexcept {
  if (units == 0)
    return std::nullopt;
  return sum / static_cast<double>(units);
}

aggregate_window parse_aggregate_request(std::string_view body) {
  auto doc = parse_json(body);
  if (doc.is_discarded())
    throw field_error("body", "the body is not JSON");
  if (!doc.is_object())
    throw field_error("body", R"(the body must be an object: {"from":"...","to":"..."})");
  for (auto& [key, value] : doc.items())
    if (key != "from" && key != "to")
      throw field_error(key, "unknown field \"" + key + "\" (from, to)");
  aggregate_window w{required_time(doc, "from"), required_time(doc, "to")};
  if (w.to <= w.from)
    throw field_error("to", "to must be after from");
  if (w.to - w.from > max_aggregate_window)
    throw field_error("to", "the window is longer than 400 days; aggregate it in parts");
  return w;
}

unix_micros hour_start(unix_micros t) noexcept {
  return floor_to(t, micros_per_hour);
}

unix_micros day_start(unix_micros t) noexcept {
  return floor_to(t, micros_per_day);
}

aggregate_window whole_days(aggregate_window w) noexcept {
  return {day_start(w.from), day_start(w.to - 1) + micros_per_day};
}

std::optional<double> unit_value(per_unit_rule rule, std::uint64_t events, double sum,
                                 std::uint64_t nonzero) noexcept {
  switch (rule) {
  case per_unit_rule::sum: return sum;
  case per_unit_rule::any: return nonzero > 0 ? 1.0 : 0.0;
  case per_unit_rule::mean:
    if (events == 0)
      return std::nullopt;
    return sum / static_cast<double>(events);
  }
  return std::nullopt;
}

} // namespace expd::core
