#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace expd::core {

/// Microseconds since 1970-01-01T00:00:00Z; what exp.events stores (timestamptz).
using unix_micros = std::int64_t;

/// Parses an RFC 3339 date-time ("2025-01-01T10:00:00Z", "2025-01-01t10:00:00.123+02:00"):
/// a full date, 'T' or 't' (or one space, as PostgreSQL prints), a time with optional
/// fraction (digits past microseconds are truncated), and 'Z'/'z' or a +hh:mm / -hh:mm
/// offset. Checks every range (month, day of that month in that year, hour, minute,
/// second; a leap second 60 reads as 59.999999) and years 0001..9999. nullopt when the
/// text is not such a date-time.
std::optional<unix_micros> parse_rfc3339(std::string_view text) noexcept;

/// "2025-01-01T10:00:00.123456Z": always UTC, always six fraction digits, so texts sort
/// as times do.
std::string format_rfc3339(unix_micros t);

/// format_rfc3339 appended to `out`, without a temporary.
void append_rfc3339(std::string& out, unix_micros t);

/// The UTC calendar day and hour of `t`, as the archive's folders name them.
struct utc_hour {
  int year, month, day, hour;
};
utc_hour utc_hour_of(unix_micros t) noexcept;

} // namespace expd::core
