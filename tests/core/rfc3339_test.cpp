#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "core/rfc3339.hpp"
#include "tests/support/python_reference.hpp"

using namespace expd::core;

namespace {

constexpr unix_micros jan_1_2025_10h = 1735725600LL * 1000000;

std::string two(int n) {
  return (n < 10 ? "0" : "") + std::to_string(n);
}

std::string four(int n) {
  auto text = std::to_string(n);
  return std::string(4 - text.size(), '0') + text;
}

// A date-time in the grammar's shape from random fields, some of them out of range.
struct random_time {
  int year, month, day, hour, minute, second;
  std::string fraction; // digits, possibly none
  int offset_minutes;   // local minus UTC
  bool z;

  std::string text(char separator, char z_letter) const {
    auto out = four(year) + "-" + two(month) + "-" + two(day) + separator + two(hour) + ":"
               + two(minute) + ":" + two(second);
    if (!fraction.empty())
      out += "." + fraction;
    if (z)
      return out + z_letter;
    auto magnitude = std::abs(offset_minutes);
    return out + (offset_minutes < 0 ? "-" : "+") + two(magnitude / 60) + ":"
           + two(magnitude % 60);
  }

  // The fraction's first six digits as microseconds.
  unix_micros micros() const {
    auto digits = (fraction + "000000").substr(0, 6);
    return std::stoll(digits);
  }
};

random_time draw(std::mt19937_64& rng, int max_day, int max_hour, int max_offset_hour) {
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  random_time t{pick(1, 9999), pick(1, 12), pick(1, max_day), pick(0, max_hour), pick(0, 59),
                pick(0, 59), "", 0, pick(0, 3) == 0};
  for (int n = pick(0, 9); n > 0; --n)
    t.fraction += static_cast<char>('0' + pick(0, 9));
  t.offset_minutes = (pick(0, max_offset_hour) * 60 + pick(0, 59)) * (pick(0, 1) ? 1 : -1);
  return t;
}

} // namespace

TEST(rfc3339, parses_every_form_it_allows) {
  struct example {
    const char* text;
    unix_micros expected;
  };
  const example examples[] = {
    {"2025-01-01T10:00:00Z", jan_1_2025_10h},
    {"2025-01-01t10:00:00z", jan_1_2025_10h},
    {"2025-01-01 10:00:00Z", jan_1_2025_10h},
    {"2025-01-01T12:00:00+02:00", jan_1_2025_10h},
    {"2025-01-01T04:30:00-05:30", jan_1_2025_10h},
    {"2025-01-01T10:00:00-00:00", jan_1_2025_10h},
    {"2025-01-02T09:59:00+23:59", jan_1_2025_10h},
    {"2025-01-01T10:00:00.1Z", jan_1_2025_10h + 100000},
    {"2025-01-01T10:00:00.12Z", jan_1_2025_10h + 120000},
    {"2025-01-01T10:00:00.000001Z", jan_1_2025_10h + 1},
    {"2025-01-01T10:00:00.123456789Z", jan_1_2025_10h + 123456},
    {"2025-01-01T10:00:00.9999999999999999999999Z", jan_1_2025_10h + 999999},
    {"1970-01-01T00:00:00Z", 0},
    {"1969-12-31T23:59:59.999999Z", -1},
    {"2000-02-29T00:00:00Z", 951782400LL * 1000000},
    {"2024-02-29T23:59:59Z", 1709251199LL * 1000000},
    {"1600-02-29T00:00:00Z", -11670998400LL * 1000000},
    {"1900-02-28T00:00:00Z", -2203977600LL * 1000000},
    {"2016-12-31T23:59:60Z", 1483228799LL * 1000000 + 999999},
    {"2016-12-31T23:59:60.5Z", 1483228799LL * 1000000 + 999999},
    {"0001-01-01T00:00:00Z", -62135596800LL * 1000000},
    {"9999-12-31T23:59:59.999999Z", 253402300799LL * 1000000 + 999999},
  };
  for (auto& e : examples) {
    auto t = parse_rfc3339(e.text);
    ASSERT_TRUE(t.has_value()) << e.text;
    EXPECT_EQ(*t, e.expected) << e.text;
  }
}

TEST(rfc3339, refuses_what_is_not_a_date_time) {
  const char* refused[] = {
    "",
    "2025-01-01",
    "2025-01-01T10:00:00",
    "2025-01-01T10:00Z",
    "2025-01-01T10:00:00.Z",
    "2025-1-01T10:00:00Z",
    "25-01-01T10:00:00Z",
    "+2025-01-01T10:00:00Z",
    "0000-01-01T00:00:00Z",
    "2025-00-10T10:00:00Z",
    "2025-13-01T10:00:00Z",
    "2025-01-00T10:00:00Z",
    "2025-01-32T10:00:00Z",
    "2025-04-31T10:00:00Z",
    "2025-02-29T10:00:00Z",
    "1900-02-29T10:00:00Z",
    "2100-02-29T10:00:00Z",
    "2025-01-01T24:00:00Z",
    "2025-01-01T10:60:00Z",
    "2025-01-01T10:00:61Z",
    "2025-01-01T10:00:00+24:00",
    "2025-01-01T10:00:00-24:00",
    "2025-01-01T10:00:00+02:60",
    "2025-01-01T10:00:00+0200",
    "2025-01-01T10:00:00+02",
    "2025-01-01T10:00:00+2:00",
    "2025-01-01T10:00:00UTC",
    "2025-01-01T10:00:00Zjunk",
    "2025-01-01T10:00:00Z ",
    " 2025-01-01T10:00:00Z",
    "2025-01-01T10:00:00.5+02:00x",
    "2025-01-01X10:00:00Z",
    "2025-01-01  10:00:00Z",
    "2025-01-01T10:00:00,5Z",
    "2025-01-01T1a:00:00Z",
    "2025-01-01T-1:00:00Z",
    "2025/01/01T10:00:00Z",
    "\xef\xbc\x92" "025-01-01T10:00:00Z",
  };
  for (auto text : refused)
    EXPECT_FALSE(parse_rfc3339(text).has_value()) << '"' << text << '"';
  EXPECT_FALSE(parse_rfc3339(std::string("2025-01-01T10:00:00Z\0", 21)).has_value());
  EXPECT_FALSE(parse_rfc3339(std::string("2025-01-01T10:00:00\0Z", 21)).has_value());
}

TEST(rfc3339, formats_utc_with_six_fraction_digits) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_rfc3339(jan_1_2025_10h + 450), "2025-01-01T10:00:00.000450Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2000-02-29T23:59:59.5+01:00")),
            "2000-02-29T22:59:59.500000Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("0001-01-01T00:00:00Z")),
            "0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("9999-12-31T23:59:59.999999Z")),
            "9999-12-31T23:59:59.999999Z");
}

TEST(rfc3339, texts_sort_as_times_do) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<unix_micros> any(*parse_rfc3339("0001-01-01T00:00:00Z"),
                                                 *parse_rfc3339("9999-12-31T23:59:59Z"));
  for (int i = 0; i < 10000; ++i) {
    auto a = any(rng), b = i % 2 ? any(rng) : a + 1;
    EXPECT_EQ(a < b, format_rfc3339(a) < format_rfc3339(b)) << a << " " << b;
    EXPECT_EQ(parse_rfc3339(format_rfc3339(a)), a);
  }
}

TEST(rfc3339, utc_hour_names_the_archive_folder) {
  auto h = utc_hour_of(*parse_rfc3339("2025-01-01T00:30:00+01:00"));
  EXPECT_EQ(h.year, 2024);
  EXPECT_EQ(h.month, 12);
  EXPECT_EQ(h.day, 31);
  EXPECT_EQ(h.hour, 23);
  h = utc_hour_of(-1);
  EXPECT_EQ(h.year, 1969);
  EXPECT_EQ(h.hour, 23);
  h = utc_hour_of(*parse_rfc3339("2024-02-29T13:59:59.999999Z"));
  EXPECT_EQ(h.month, 2);
  EXPECT_EQ(h.day, 29);
  EXPECT_EQ(h.hour, 13);
}

// libc's timegm/gmtime_r are the reference: an independent calendar implementation.
TEST(rfc3339, agrees_with_libc_timegm) {
  std::mt19937_64 rng(42);
  int valid = 0;
  for (int i = 0; i < 100000; ++i) {
    auto r = draw(rng, 31, 24, 24);
    std::tm fields{};
    fields.tm_year = r.year - 1900;
    fields.tm_mon = r.month - 1;
    fields.tm_mday = r.day;
    fields.tm_hour = r.hour;
    fields.tm_min = r.minute;
    fields.tm_sec = r.second;
    auto utc = ::timegm(&fields);
    // timegm normalises out-of-range fields; a valid date-time comes back unchanged.
    std::tm back{};
    ::gmtime_r(&utc, &back);
    bool in_range = back.tm_year == r.year - 1900 && back.tm_mon == r.month - 1
                    && back.tm_mday == r.day && back.tm_hour == r.hour
                    && (r.z || std::abs(r.offset_minutes) < 24 * 60);
    auto text = r.text(i % 3 ? 'T' : ' ', i % 5 ? 'Z' : 'z');
    auto parsed = parse_rfc3339(text);
    ASSERT_EQ(parsed.has_value(), in_range) << text;
    if (!in_range)
      continue;
    ++valid;
    auto offset = r.z ? 0 : static_cast<unix_micros>(r.offset_minutes) * 60;
    ASSERT_EQ(*parsed, (utc - offset) * 1000000 + r.micros()) << text;
  }
  EXPECT_GT(valid, 50000);

  for (int i = 0; i < 100000; ++i) {
    auto t = std::uniform_int_distribution<unix_micros>(-62135596800LL * 1000000,
                                                        253402300799LL * 1000000)(rng);
    auto secs = static_cast<std::time_t>(t >= 0 ? t / 1000000 : (t + 1) / 1000000 - 1);
    std::tm utc{};
    ::gmtime_r(&secs, &utc);
    char expected[64];
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                  utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                  utc.tm_sec, static_cast<int>(t - secs * 1000000LL));
    ASSERT_EQ(format_rfc3339(t), expected) << t;
    auto hour = utc_hour_of(t);
    ASSERT_EQ(hour.year, utc.tm_year + 1900);
    ASSERT_EQ(hour.month, utc.tm_mon + 1);
    ASSERT_EQ(hour.day, utc.tm_mday);
    ASSERT_EQ(hour.hour, utc.tm_hour);
  }
}

// Python's datetime.fromisoformat reads the same grammar (given upper-case T and Z;
// it allows offset minutes past 59, which the draw never makes) and is the reference
// for both validity and value.
TEST(rfc3339, agrees_with_python_datetime) {
  if (!expd::test::python_has())
    GTEST_SKIP() << "/usr/bin/python3 is not installed";
  const std::string script = R"(import sys
from datetime import datetime, timedelta, timezone
epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
for line in sys.stdin:
    text, t = line.rstrip("\n").split("\t")
    try:
        delta = datetime.fromisoformat(text.upper()) - epoch
        parsed = str((delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds)
    except ValueError:
        parsed = "invalid"
    formatted = epoch + timedelta(microseconds=int(t))
    print(parsed, formatted.isoformat(timespec="microseconds").replace("+00:00", "Z"))
)";
  std::mt19937_64 rng(1234);
  std::uniform_int_distribution<unix_micros> any(-62135596800LL * 1000000,
                                                 253402300799LL * 1000000);
  std::vector<std::string> texts, lines;
  std::vector<unix_micros> times;
  for (int i = 0; i < 20000; ++i) {
    texts.push_back(draw(rng, 31, 24, 24).text("Tt "[i % 3], "Zz"[i % 2]));
    times.push_back(any(rng));
    lines.push_back(texts.back() + "\t" + std::to_string(times.back()));
  }
  auto answers = expd::test::run_python(script, lines);
  ASSERT_EQ(answers.size(), texts.size());
  int valid = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto space = answers[i].find(' ');
    auto parsed = parse_rfc3339(texts[i]);
    valid += parsed.has_value();
    EXPECT_EQ(parsed ? std::to_string(*parsed) : "invalid", answers[i].substr(0, space))
      << texts[i];
    EXPECT_EQ(format_rfc3339(times[i]), answers[i].substr(space + 1)) << times[i];
  }
  EXPECT_GT(valid, 8000);
}
