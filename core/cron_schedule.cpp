#include "core/cron_schedule.hpp"

#include <array>
#include <cctype>
#include <stdexcept>
#include <vector>

namespace expd::core {

namespace {

constexpr std::int64_t micros_per_minute = 60LL * 1000000;
constexpr std::int64_t minutes_per_day = 1440;
constexpr std::int64_t micros_per_day = minutes_per_day * micros_per_minute;
// Feb 29 on a given weekday recurs within 28 years, but every schedule parse_cron takes
// fires at least once in any 8 years (a Feb 29 falls in each); past that, nothing.
constexpr std::int64_t search_days = 8 * 366;

struct field_spec {
  const char* what;
  int min, max;
  const std::array<const char*, 13>* names; ///< index = value; null: numbers only
};

const std::array<const char*, 13> month_names{"",    "jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
const std::array<const char*, 13> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat",
                                                "",    "",    "",    "",    "",    ""};

const std::array<field_spec, 5> fields{{{"minute", 0, 59, nullptr},
                                        {"hour", 0, 23, nullptr},
                                        {"day-of-month", 1, 31, nullptr},
                                        {"month", 1, 12, &month_names},
                                        {"day-of-week", 0, 7, &weekday_names}}};

[[noreturn]] void refuse(const field_spec& f, const std::string& message) {
  throw std::invalid_argument(std::string{"the "} + f.what + " field: " + message);
}

int value_of(const field_spec& f, std::string_view text) {
  if (text.empty())
    refuse(f, "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000)
        refuse(f, "\"" + std::string{text} + "\" is not a number");
      v = v * 10 + (c - '0');
    }
    if (v < f.min || v > f.max)
      refuse(f, std::to_string(v) + " is outside " + std::to_string(f.min) + "-" + std::to_string(f.max));
    return v;
  }
  if (f.names != nullptr && text.size() == 3) {
    std::string lower;
    for (char c : text)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int i = 0; i < static_cast<int>(f.names->size()); ++i)
      if (lower == (*f.names)[i])
        return i;
  }
  refuse(f, "\"" + std::string{text} + "\" is not " +
              (f.names ? std::string{"a number or a name"} : std::string{"a number"}));
}

// The values of one field, as a list of flags indexed by value.
std::vector<bool> parse_field(const field_spec& f, std::string_view text) {
  std::vector<bool> on(f.max + 1, false);
  if (text.empty())
    refuse(f, "it is empty");
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    auto item = text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    auto slash = item.find('/');
    auto base = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      auto step_text = item.substr(slash + 1);
      if (step_text.empty() || step_text.size() > 3)
        refuse(f, "the step of \"" + std::string{item} + "\" is not a number from 1");
      step = 0;
      for (char c : step_text) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
          refuse(f, "the step of \"" + std::string{item} + "\" is not a number from 1");
        step = step * 10 + (c - '0');
      }
      if (step < 1 || step > f.max - f.min + 1)
        refuse(f, "the step of \"" + std::string{item} + "\" must be from 1 to " +
                    std::to_string(f.max - f.min + 1));
    }
    // An open end stops at Saturday: 7 is Sunday again only when written.
    int lo = f.min, hi = f.names == &weekday_names ? 6 : f.max;
    if (base != "*") {
      auto dash = base.find('-');
      lo = value_of(f, base.substr(0, dash));
      if (dash != std::string_view::npos)
        hi = value_of(f, base.substr(dash + 1));
      else if (slash != std::string_view::npos) // cron implementations read "5/10" differently
        refuse(f, "a step goes with * or a range (*/10, 5-59/10), not \"" + std::string{item} + "\"");
      else
        hi = lo;
      if (lo > hi)
        refuse(f, "the range \"" + std::string{base} + "\" runs backwards");
    }
    for (int v = lo; v <= hi; v += step)
      on[v] = true;
    if (comma == std::string_view::npos)
      break;
    at = comma + 1;
  }
  return on;
}

template <std::size_t N>
void fill(std::bitset<N>& bits, const std::vector<bool>& on) {
  for (std::size_t v = 0; v < on.size() && v < N; ++v)
    bits[v] = on[v];
}

bool day_matches(const cron_schedule& s, std::int64_t day) noexcept {
  auto date = utc_hour_of(day * micros_per_day);
  if (!s.months[date.month])
    return false;
  auto weekday = ((day % 7) + 11) % 7; // 1970-01-01 was a Thursday (4)
  bool dom = s.days[date.day];
  bool dow = s.weekdays[weekday];
  if (s.days_restricted && s.weekdays_restricted)
    return dom || dow;
  return dom && dow;
}

bool minute_matches(const cron_schedule& s, std::int64_t minute_of_day) noexcept {
  return s.hours[minute_of_day / 60] && s.minutes[minute_of_day % 60];
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

} // namespace

cron_schedule parse_cron(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t'))
      ++at;
    if (at == text.size())
      break;
    auto end = text.find_first_of(" \t", at);
    if (end == std::string_view::npos)
      end = text.size();
    parts.push_back(text.substr(at, end - at));
    at = end;
  }
  if (parts.size() != 5)
    throw std::invalid_argument("a schedule has 5 fields (minute hour day-of-month month day-of-week), not " +
                                std::to_string(parts.size()));
  cron_schedule s;
  s.text = std::string{text};
  fill(s.minutes, parse_field(fields[0], parts[0]));
  fill(s.hours, parse_field(fields[1], parts[1]));
  fill(s.days, parse_field(fields[2], parts[2]));
  fill(s.months, parse_field(fields[3], parts[3]));
  auto weekdays = parse_field(fields[4], parts[4]);
  if (weekdays[7])
    weekdays[0] = true;
  fill(s.weekdays, weekdays);
  // By the text, as croniter reads it: anything but "*" restricts, "1-31" and "*/2"
  // too (Vixie cron looks at the first character, so to it "*/2" does not).
  s.days_restricted = parts[2] != "*";
  s.weekdays_restricted = parts[4] != "*";
  if (s.days_restricted && !s.weekdays_restricted) {
    static constexpr std::array<int, 13> longest{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool fires = false;
    for (int m = 1; m <= 12 && !fires; ++m)
      for (int d = 1; d <= longest[m] && !fires; ++d)
        fires = s.months[m] && s.days[d];
    if (!fires)
      refuse(fields[2], "no month of the schedule has any of its days, so it never fires");
  }
  return s;
}

bool cron_matches(const cron_schedule& s, unix_micros t) noexcept {
  auto minute = floor_div(t, micros_per_minute);
  return day_matches(s, floor_div(minute, minutes_per_day)) &&
         minute_matches(s, minute - floor_div(minute, minutes_per_day) * minutes_per_day);
}

std::optional<unix_micros> next_fire_after(const cron_schedule& s, unix_micros t) {
  auto first = floor_div(t, micros_per_minute) + 1;
  auto first_day = floor_div(first, minutes_per_day);
  for (auto day = first_day; day <= first_day + search_days; ++day) {
    if (!day_matches(s, day))
      continue;
    for (auto m = day == first_day ? first - day * minutes_per_day : 0; m < minutes_per_day; ++m)
      if (minute_matches(s, m))
        return (day * minutes_per_day + m) * micros_per_minute;
  }
  return std::nullopt;
}

std::optional<unix_micros> last_fire_at_or_before(const cron_schedule& s, unix_micros t) {
  auto last = floor_div(t, micros_per_minute);
  auto last_day = floor_div(last, minutes_per_day);
  for (auto day = last_day; day >= last_day - search_days; --day) {
    if (!day_matches(s, day))
      continue;
    for (auto m = day == last_day ? last - day * minutes_per_day : minutes_per_day - 1; m >= 0; --m)
      if (minute_matches(s, m))
        return (day * minutes_per_day + m) * micros_per_minute;
  }
  return std::nullopt;
}

} // namespace expd::core
