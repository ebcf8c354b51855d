#include "core/rfc3339.hpp"

#include <cstdio>

namespace expd::core {

namespace {

constexpr std::int64_t micros_per_second = 1000000;
constexpr std::int64_t seconds_per_day = 86400;

// Days since 1970-01-01 of a proleptic Gregorian date and back, exact for every year
// (Howard Hinnant, http://howardhinnant.github.io/date_algorithms.html).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100
                              + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

struct civil_time {
  std::int64_t year;
  unsigned month, day, hour, minute, second, micros;
};

civil_time civil_from_micros(unix_micros t) noexcept {
  // Floored division without forming t - remainder, which overflows near INT64_MIN.
  auto rem = t % micros_per_second;
  auto secs = t / micros_per_second - (rem < 0);
  auto micros = static_cast<unsigned>(rem < 0 ? rem + micros_per_second : rem);
  auto second_of_day = secs % seconds_per_day;
  auto days = secs / seconds_per_day - (second_of_day < 0);
  if (second_of_day < 0)
    second_of_day += seconds_per_day;

  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
    (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4
                                             - year_of_era / 100);
  const unsigned shifted_month = (5 * day_of_year + 2) / 153;
  const unsigned month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  const auto sod = static_cast<unsigned>(second_of_day);
  return {static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2), month,
          day_of_year - (153 * shifted_month + 2) / 5 + 1, sod / 3600, sod / 60 % 60, sod % 60,
          micros};
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// The `count` digits at `at` as a number; -1 when any is missing or not a digit.
int digits_at(std::string_view text, std::size_t at, std::size_t count) noexcept {
  if (at + count > text.size())
    return -1;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (!is_digit(text[i]))
      return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

int days_in_month(int year, int month) noexcept {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : days[month - 1];
}

} // namespace

std::optional<unix_micros> parse_rfc3339(std::string_view text) noexcept {
  // Fixed positions up to the seconds: "YYYY-MM-DDThh:mm:ss".
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[13] != ':'
      || text[16] != ':')
    return std::nullopt;
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ')
    return std::nullopt;
  int year = digits_at(text, 0, 4);
  int month = digits_at(text, 5, 2);
  int day = digits_at(text, 8, 2);
  int hour = digits_at(text, 11, 2);
  int minute = digits_at(text, 14, 2);
  int second = digits_at(text, 17, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)
      || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
    return std::nullopt;

  std::size_t i = 19;
  std::int64_t fraction = 0;
  if (text[i] == '.') {
    std::size_t first = ++i;
    // The place value reaches 0 after six digits: the rest are truncated.
    for (std::int64_t place = 100000; i < text.size() && is_digit(text[i]); ++i, place /= 10)
      fraction += (text[i] - '0') * place;
    if (i == first)
      return std::nullopt;
  }

  std::int64_t offset = 0;
  auto zone = text.substr(i);
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int offset_hour = digits_at(zone, 1, 2);
    int offset_minute = digits_at(zone, 4, 2);
    if (offset_hour < 0 || offset_hour > 23 || offset_minute < 0 || offset_minute > 59)
      return std::nullopt;
    offset = (offset_hour * 60 + offset_minute) * 60 * (zone[0] == '-' ? -1 : 1);
  } else if (zone != "Z" && zone != "z") {
    return std::nullopt;
  }

  if (second == 60) {
    second = 59;
    fraction = micros_per_second - 1;
  }
  std::int64_t local = days_from_civil(year, month, day) * seconds_per_day + hour * 3600
                       + minute * 60 + second;
  return (local - offset) * micros_per_second + fraction;
}

std::string format_rfc3339(unix_micros t) {
  std::string out;
  append_rfc3339(out, t);
  return out;
}

void append_rfc3339(std::string& out, unix_micros t) {
  // By hand: every event is rendered with four of these, and snprintf cost more than
  // the rest of the rendering together (perf, docs/benchmarks.md).
  auto c = civil_from_micros(t);
  char text[27];
  auto put = [&text](std::size_t at, std::uint64_t v, std::size_t width) {
    for (std::size_t i = width; i-- > 0; v /= 10)
      text[at + i] = static_cast<char>('0' + v % 10);
  };
  put(0, static_cast<std::uint64_t>(c.year), 4);
  text[4] = '-';
  put(5, c.month, 2);
  text[7] = '-';
  put(8, c.day, 2);
  text[10] = 'T';
  put(11, c.hour, 2);
  text[13] = ':';
  put(14, c.minute, 2);
  text[16] = ':';
  put(17, c.second, 2);
  text[19] = '.';
  put(20, c.micros, 6);
  text[26] = 'Z';
  out.append(text, sizeof text);
}

utc_hour utc_hour_of(unix_micros t) noexcept {
  auto c = civil_from_micros(t);
  return {static_cast<int>(c.year), static_cast<int>(c.month), static_cast<int>(c.day),
          static_cast<int>(c.hour)};
}

} // namespace expd::core
