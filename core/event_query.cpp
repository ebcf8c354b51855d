#include "core/event_query.hpp"

#include <charconv>
#include <map>

#include "core/field_error.hpp"

namespace expd::core {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view in, const std::string& field) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
      if (lo < 0)
        throw field_error(field, "bad percent-encoding");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

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
  std::map<std::string, std::string> params;
  while (!query_string.empty()) {
    auto amp = query_string.find('&');
    auto item = query_string.substr(0, amp);
    query_string = amp == std::string_view::npos ? std::string_view{} : query_string.substr(amp + 1);
    if (item.empty())
      continue;
    auto eq = item.find('=');
    auto key = percent_decode(item.substr(0, eq), "query");
    auto value = eq == std::string_view::npos ? std::string{} : percent_decode(item.substr(eq + 1), key);
    if (!params.emplace(key, std::move(value)).second)
      throw field_error(key, key + " is given twice");
  }
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
