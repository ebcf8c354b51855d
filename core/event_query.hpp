#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/rfc3339.hpp"
#include "core/uuid.hpp"

namespace expd::core {

/// Filters of GET /v1/events: the recent events of one unit or one experiment,
/// newest first, a page at a time.
struct event_query {
  std::string unit_id;                  ///< one of unit_id
  std::optional<uuid> experiment_id;    ///< and experiment_id
  std::string event_type;               ///< empty: every type
  unix_micros before = 0;               ///< rows strictly older than (before, before_id)
  uuid before_id{~0ULL, ~0ULL};
  unix_micros window = 0;               ///< how far back from `before` to look
  std::size_t limit = 100;
};

/// Limits a query may not pass (docs/events.md).
constexpr std::size_t max_event_query_limit = 1000;
constexpr unix_micros max_event_query_window = 7LL * 24 * 3600 * 1000000;

/// Reads `unit_id=...|experiment_id=...&event_type=...&limit=100&hours=24&cursor=...`
/// (percent-decoded) into a query at time `now`. `cursor` is the "next" value of the
/// previous page. Throws core::field_error naming the parameter at fault.
event_query parse_event_query(std::string_view query_string, unix_micros now);

} // namespace expd::core
