#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/metric_aggregate.hpp"

using namespace expd::core;

namespace {

std::string fault_of(std::string_view body) {
  try {
    parse_aggregate_request(body);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

unix_micros at(const char* text) {
  return *parse_rfc3339(text);
}

} // namespace

TEST(metric_aggregate, reads_a_window) {
  auto w = parse_aggregate_request(R"({"from":"2025-01-01T00:00:00Z","to":"2025-01-02T10:30:00+02:00"})");
  EXPECT_EQ(w.from, at("2025-01-01T00:00:00Z"));
  EXPECT_EQ(w.to, at("2025-01-02T08:30:00Z"));
}

TEST(metric_aggregate, names_the_field_of_each_request_fault) {
  EXPECT_EQ(fault_of(""), "body");
  EXPECT_EQ(fault_of("{"), "body");
  EXPECT_EQ(fault_of("[]"), "body");
  EXPECT_EQ(fault_of(R"({"to":"2025-01-02T00:00:00Z"})"), "from");
  EXPECT_EQ(fault_of(R"({"from":"2025-01-01T00:00:00Z"})"), "to");
  EXPECT_EQ(fault_of(R"({"from":null,"to":"2025-01-02T00:00:00Z"})"), "from");
  EXPECT_EQ(fault_of(R"({"from":1735689600,"to":"2025-01-02T00:00:00Z"})"), "from");
  EXPECT_EQ(fault_of(R"({"from":"yesterday","to":"2025-01-02T00:00:00Z"})"), "from");
  EXPECT_EQ(fault_of(R"({"from":"2025-01-01T00:00:00Z","to":"2025-02-30T00:00:00Z"})"), "to");
  EXPECT_EQ(fault_of(R"({"from":"2025-01-02T00:00:00Z","to":"2025-01-02T00:00:00Z"})"), "to");
  EXPECT_EQ(fault_of(R"({"from":"2025-01-03T00:00:00Z","to":"2025-01-02T00:00:00Z"})"), "to");
  EXPECT_EQ(fault_of(R"({"from":"2020-01-01T00:00:00Z","to":"2025-01-02T00:00:00Z"})"), "to");
  EXPECT_EQ(fault_of(R"({"from":"2025-01-01T00:00:00Z","to":"2025-01-02T00:00:00Z","dry":true})"), "dry");
  EXPECT_EQ(fault_of(R"({"from":"2025-01-01T00:00:00Z","to":"2026-02-04T00:00:00Z"})"), "no error");
  EXPECT_EQ(fault_of(R"({"from":"2025-01-01T00:00:00Z","to":"2026-02-06T00:00:00Z"})"), "to");
}

TEST(metric_aggregate, windows_widen_to_whole_utc_days) {
  auto w = whole_days({at("2025-01-01T10:00:00Z"), at("2025-01-03T00:00:00Z")});
  EXPECT_EQ(w.from, at("2025-01-01T00:00:00Z"));
  EXPECT_EQ(w.to, at("2025-01-03T00:00:00Z")); // already a day's start: not one more
  w = whole_days({at("2025-01-01T00:00:00Z"), at("2025-01-01T00:00:00.000001Z")});
  EXPECT_EQ(w.to, at("2025-01-02T00:00:00Z"));
  EXPECT_EQ(hour_start(at("2025-01-01T10:59:59.999999Z")), at("2025-01-01T10:00:00Z"));
  EXPECT_EQ(day_start(at("1969-12-31T23:00:00Z")), at("1969-12-31T00:00:00Z"));
  EXPECT_EQ(hour_start(at("1969-12-31T23:30:00Z")), at("1969-12-31T23:00:00Z"));
}

TEST(metric_aggregate, unit_values_follow_the_rule) {
  EXPECT_EQ(unit_value(per_unit_rule::sum, 3, 12.5, 3), 12.5);
  EXPECT_EQ(unit_value(per_unit_rule::sum, 0, 0, 0), 0.0);
  EXPECT_EQ(unit_value(per_unit_rule::any, 5, 1, 1), 1.0);
  EXPECT_EQ(unit_value(per_unit_rule::any, 5, 0, 0), 0.0);
  EXPECT_EQ(unit_value(per_unit_rule::any, 0, 0, 0), 0.0);
  EXPECT_EQ(unit_value(per_unit_rule::mean, 4, 10, 4), 2.5);
  EXPECT_EQ(unit_value(per_unit_rule::mean, 0, 0, 0), std::nullopt);
}

TEST(metric_aggregate, granularities_have_names_and_a_mean_needs_units) {
  for (auto g : {aggregate_granularity::hour, aggregate_granularity::day,
                 aggregate_granularity::experiment})
    EXPECT_EQ(parse_aggregate_granularity(to_string(g)), g);
  EXPECT_EQ(parse_aggregate_granularity("week"), std::nullopt);
  metric_moments m;
  EXPECT_EQ(m.mean(), std::nullopt);
  m.units = 4;
  m.sum = 3;
  EXPECT_EQ(m.mean(), 0.75);
}
