#include <gtest/gtest.h>

#include "core/event_query.hpp"
#include "core/field_error.hpp"

using namespace expd::core;

namespace {

constexpr unix_micros now = 1735725600000000;

std::string fault_of(const std::string& query) {
  try {
    parse_event_query(query, now);
  } catch (const field_error& e) {
    return e.field();
  }
  return "";
}

} // namespace

TEST(event_query, a_unit_with_defaults) {
  auto q = parse_event_query("unit_id=user-123", now);
  EXPECT_EQ(q.unit_id, "user-123");
  EXPECT_FALSE(q.experiment_id);
  EXPECT_EQ(q.limit, 100u);
  EXPECT_EQ(q.before, now);
  EXPECT_EQ(q.window, 24LL * 3600 * 1000000);
}

TEST(event_query, percent_decoding_and_every_parameter) {
  auto q = parse_event_query(
    "experiment_id=0B9D3F5E-2C1A-4F7E-9B8D-1A2B3C4D5E6F&event_type=plan%5Fgenerated&limit=5"
    "&hours=48&cursor=1735725500000000_0b9d3f5e-2c1a-4f7e-9b8d-1a2b3c4d5e6f",
    now);
  ASSERT_TRUE(q.experiment_id);
  EXPECT_EQ(q.experiment_id->str(), "0b9d3f5e-2c1a-4f7e-9b8d-1a2b3c4d5e6f");
  EXPECT_EQ(q.event_type, "plan_generated");
  EXPECT_EQ(q.limit, 5u);
  EXPECT_EQ(q.window, 48LL * 3600 * 1000000);
  EXPECT_EQ(q.before, 1735725500000000);
  EXPECT_EQ(parse_event_query("unit_id=a+b%20c", now).unit_id, "a b c");
}

TEST(event_query, faults_name_the_parameter) {
  EXPECT_EQ(fault_of(""), "unit_id");
  EXPECT_EQ(fault_of("unit_id=a&experiment_id=0b9d3f5e-2c1a-4f7e-9b8d-1a2b3c4d5e6f"), "experiment_id");
  EXPECT_EQ(fault_of("experiment_id=nope"), "experiment_id");
  EXPECT_EQ(fault_of("unit_id=a&limit=0"), "limit");
  EXPECT_EQ(fault_of("unit_id=a&limit=1001"), "limit");
  EXPECT_EQ(fault_of("unit_id=a&limit=12x"), "limit");
  EXPECT_EQ(fault_of("unit_id=a&hours=100000"), "hours");
  EXPECT_EQ(fault_of("unit_id=a&cursor=garbage"), "cursor");
  EXPECT_EQ(fault_of("unit_id=a&colour=red"), "colour");
  EXPECT_EQ(fault_of("unit_id=a&unit_id=b"), "unit_id");
  EXPECT_EQ(fault_of("unit_id=%zz"), "unit_id");
  EXPECT_EQ(fault_of("unit_id=" + std::string(257, 'x')), "unit_id");
}

// PostgreSQL's text cannot hold these: they must not get as far as a query.
TEST(event_query, bytes_text_cannot_hold_name_the_parameter) {
  EXPECT_EQ(fault_of("unit_id=%ff%fe"), "unit_id");
  EXPECT_EQ(fault_of("unit_id=%00"), "unit_id");
  EXPECT_EQ(fault_of("unit_id=a%00b"), "unit_id");
  EXPECT_EQ(fault_of("unit_id=%0a"), "unit_id");
  EXPECT_EQ(fault_of("unit_id=%c3%28"), "unit_id");
  EXPECT_EQ(fault_of("unit_id=a&event_type=%ed%a0%80"), "event_type"); // a UTF-16 surrogate
  EXPECT_EQ(fault_of("unit_id=a&event_type=%c0%af"), "event_type");    // overlong '/'
  EXPECT_EQ(fault_of("%ff=1&unit_id=a"), "query");
  EXPECT_EQ(parse_event_query("unit_id=%c3%a9t%c3%a9", now).unit_id, "\xc3\xa9t\xc3\xa9");
}
