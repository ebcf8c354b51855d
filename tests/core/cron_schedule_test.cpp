// core/cron_schedule against hand-checked cases and against croniter (PyPI, pinned in
// deploy/requirements.txt, run from var/venv by tests/core/cron_reference.py) on
// schedules and times this test draws from a seeded generator.

#include "core/cron_schedule.hpp"

#include <random>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "tests/support/python_reference.hpp"

namespace {

using expd::core::cron_matches;
using expd::core::last_fire_at_or_before;
using expd::core::next_fire_after;
using expd::core::parse_cron;
using expd::core::unix_micros;

unix_micros at(const char* rfc3339) {
  return *expd::core::parse_rfc3339(rfc3339);
}

std::string next_of(const char* schedule, const char* from) {
  auto next = next_fire_after(parse_cron(schedule), at(from));
  return next ? expd::core::format_rfc3339(*next) : "none";
}

std::string error_of(const char* schedule) {
  try {
    parse_cron(schedule);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(cron_schedule, steps_lists_ranges_and_names) {
  EXPECT_EQ(next_of("*/15 * * * *", "2025-01-01T10:07:30Z"), "2025-01-01T10:15:00.000000Z");
  EXPECT_EQ(next_of("*/15 * * * *", "2025-01-01T10:15:00Z"), "2025-01-01T10:30:00.000000Z"); // strictly after
  EXPECT_EQ(next_of("0 9-17/4 * * *", "2025-01-01T13:00:00Z"), "2025-01-01T17:00:00.000000Z");
  EXPECT_EQ(next_of("30 2 1,15 * *", "2025-01-02T00:00:00Z"), "2025-01-15T02:30:00.000000Z");
  EXPECT_EQ(next_of("0 0 * FEB Mon-fri", "2025-01-31T12:00:00Z"), "2025-02-03T00:00:00.000000Z");
  EXPECT_EQ(next_of("0 12 * * 7", "2025-01-01T00:00:00Z"), "2025-01-05T12:00:00.000000Z"); // 7 is Sunday
  EXPECT_EQ(next_of("0 0 29 2 *", "2025-03-01T00:00:00Z"), "2028-02-29T00:00:00.000000Z");
  EXPECT_EQ(next_of("59 23 31 12 *", "2025-12-31T23:59:00Z"), "2026-12-31T23:59:00.000000Z");
}

TEST(cron_schedule, either_day_field_matches_when_both_are_restricted) {
  // The 15th or any Monday (Vixie cron's rule): Monday 2025-01-06 comes first.
  EXPECT_EQ(next_of("0 0 15 * mon", "2025-01-01T00:00:00Z"), "2025-01-06T00:00:00.000000Z");
  EXPECT_EQ(next_of("0 0 15 * mon", "2025-01-13T00:00:00Z"), "2025-01-15T00:00:00.000000Z");
  // One restricted: that one alone.
  EXPECT_EQ(next_of("0 0 15 * *", "2025-01-01T00:00:00Z"), "2025-01-15T00:00:00.000000Z");
  EXPECT_EQ(next_of("0 0 * * mon", "2025-01-01T00:00:00Z"), "2025-01-06T00:00:00.000000Z");
}

TEST(cron_schedule, the_last_slot_at_or_before_a_time) {
  auto s = parse_cron("0 3 * * *");
  EXPECT_EQ(*last_fire_at_or_before(s, at("2025-01-05T03:00:00Z")), at("2025-01-05T03:00:00Z"));
  EXPECT_EQ(*last_fire_at_or_before(s, at("2025-01-05T02:59:59Z")), at("2025-01-04T03:00:00Z"));
  EXPECT_TRUE(cron_matches(s, at("2025-01-05T03:00:42Z")));
  EXPECT_FALSE(cron_matches(s, at("2025-01-05T03:01:00Z")));
}

TEST(cron_schedule, refusals_name_the_field) {
  EXPECT_EQ(error_of("* * * *"), "a schedule has 5 fields (minute hour day-of-month month day-of-week), not 4");
  EXPECT_EQ(error_of("60 * * * *"), "the minute field: 60 is outside 0-59");
  EXPECT_EQ(error_of("0 24 * * *"), "the hour field: 24 is outside 0-23");
  EXPECT_EQ(error_of("0 0 0 * *"), "the day-of-month field: 0 is outside 1-31");
  EXPECT_EQ(error_of("0 0 * foo *"), "the month field: \"foo\" is not a number or a name");
  EXPECT_EQ(error_of("0 0 * * 8"), "the day-of-week field: 8 is outside 0-7");
  EXPECT_EQ(error_of("*/0 * * * *"), "the minute field: the step of \"*/0\" must be from 1 to 60");
  EXPECT_EQ(error_of("0 5-1 * * *"), "the hour field: the range \"5-1\" runs backwards");
  EXPECT_EQ(error_of("5/10 * * * *"), "the minute field: a step goes with * or a range (*/10, 5-59/10), not \"5/10\"");
  EXPECT_EQ(error_of("0 0 1,,2 * *"), "the day-of-month field: a value is missing");
  EXPECT_EQ(error_of("0 0 30 2 *"),
            "the day-of-month field: no month of the schedule has any of its days, so it never fires");
  EXPECT_EQ(error_of("0 0 30 feb mon"), ""); // but every Monday of February fires
}

// A random field for croniter: values, ranges, steps and lists; names in months and
// weekdays. Ranges have a < b: croniter reads "13-13" as a wrap-around through every
// value, which cron does not.
std::string draw_field(std::mt19937_64& rng, int lo, int hi, const char* const* names) {
  auto pick = [&](int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); };
  auto value = [&](int v) { return names != nullptr && pick(0, 2) == 0 ? std::string{names[v]} : std::to_string(v); };
  auto item = [&]() -> std::string {
    switch (pick(0, 3)) {
      case 0:
        return value(pick(lo, hi));
      case 1: {
        int a = pick(lo, hi - 1), b = pick(a + 1, hi);
        return value(a) + "-" + value(b);
      }
      case 2: {
        int a = pick(lo, hi - 1), b = pick(a + 1, hi);
        return std::to_string(a) + "-" + std::to_string(b) + "/" + std::to_string(pick(1, 4));
      }
      default:
        return "*/" + std::to_string(pick(1, (hi - lo) / 2 + 1));
    }
  };
  if (pick(0, 3) == 0)
    return "*";
  std::string out = item();
  for (int n = pick(0, 2); n > 0; --n)
    out += "," + item();
  return out;
}

TEST(cron_schedule, agrees_with_croniter) {
  const std::string here = __FILE__;
  const auto root = here.substr(0, here.rfind("tests/core/")); // "" or ".../": the source tree
  const auto python = root + "var/venv/bin/python";
  if (!expd::test::python_has("croniter", python))
    GTEST_SKIP() << python << " with croniter is not installed (bash deploy/install-deps.sh)";
  static const char* const months[] = {"",    "jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
  static const char* const weekdays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::mt19937_64 rng(16);
  std::vector<std::string> requests, schedules;
  std::vector<std::int64_t> seconds;
  while (requests.size() < 2000) {
    auto schedule = draw_field(rng, 0, 59, nullptr) + " " + draw_field(rng, 0, 23, nullptr) + " "
                    + draw_field(rng, 1, 31, nullptr) + " " + draw_field(rng, 1, 12, months) + " "
                    + draw_field(rng, 0, 6, weekdays);
    expd::core::cron_schedule parsed;
    try {
      parsed = parse_cron(schedule);
    } catch (const std::invalid_argument&) {
      continue; // never fires: croniter would search without end
    }
    // A day field written as a restriction that allows every value ("0-6", "*/1"):
    // croniter then reads one day rule or the other depending on the other field.
    if ((parsed.days_restricted && parsed.days.count() == 31) || (parsed.weekdays_restricted && parsed.weekdays.all()))
      continue;
    // 2001 to 2037, any second.
    auto t = std::uniform_int_distribution<std::int64_t>(978307200, 2114380800)(rng);
    schedules.push_back(schedule);
    seconds.push_back(t);
    requests.push_back(std::to_string(t) + "\t" + schedule);
  }
  auto answers = expd::test::run_python_file(root + "tests/core/cron_reference.py", requests, python);
  ASSERT_EQ(answers.size(), requests.size()) << "the reference script failed";
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(requests[i]);
    ASSERT_NE(answers[i], "error");
    std::istringstream in(answers[i]);
    std::int64_t next = 0, prev = 0;
    in >> next >> prev;
    auto s = parse_cron(schedules[i]);
    auto t = seconds[i] * 1000000;
    EXPECT_EQ(next_fire_after(s, t).value_or(-1), next * 1000000);
    auto last = last_fire_at_or_before(s, t);
    // croniter's get_prev goes back as far as it must; ours stops at 8 years.
    if (last)
      EXPECT_EQ(*last, prev * 1000000);
    else
      EXPECT_LT(prev, seconds[i] - 8 * 365 * 86400);
  }
}

} // namespace
