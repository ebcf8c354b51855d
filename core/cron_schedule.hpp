#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "core/rfc3339.hpp"

// Standard 5-field cron schedules, in UTC (docs/lifecycle.md, "Pipelines"): when a
// pipeline's runs are due. No clock: every time is passed in.
namespace expd::core {

struct cron_schedule {
  std::string text;          ///< as written, for storage and display
  std::bitset<60> minutes;   ///< 0-59
  std::bitset<24> hours;     ///< 0-23
  std::bitset<32> days;      ///< 1-31 (bit 0 unused)
  std::bitset<13> months;    ///< 1-12 (bit 0 unused)
  std::bitset<7> weekdays;   ///< 0-6, Sunday 0
  bool days_restricted = false;     ///< day-of-month is written as anything but "*"
  bool weekdays_restricted = false; ///< day-of-week is written as anything but "*"
};

/// Reads "minute hour day-of-month month day-of-week": each field `*`, a number, a
/// range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those (`a/n`, which cron
/// implementations read differently, is refused);
/// months `jan`-`dec` and weekdays `sun`-`sat` by name too (any case), weekday 7 is
/// Sunday. Throws std::invalid_argument naming the field ("the day-of-week field: ...")
/// for a bad field and for a schedule that never fires ("0 0 30 2 *").
cron_schedule parse_cron(std::string_view text);

/// Whether the minute that starts at `t` (seconds ignored) is one of the schedule's.
/// When both day fields are restricted (written as anything but "*") a day matches when
/// either does (Vixie cron's rule, and croniter's); otherwise both must.
bool cron_matches(const cron_schedule& s, unix_micros t) noexcept;

/// The first firing strictly after `t`; nullopt only for a schedule parse_cron refuses.
std::optional<unix_micros> next_fire_after(const cron_schedule& s, unix_micros t);

/// The last firing at or before `t` (what a node that was down missed most recently);
/// nullopt when none in the 8 years before `t`.
std::optional<unix_micros> last_fire_at_or_before(const cron_schedule& s, unix_micros t);

} // namespace expd::core
