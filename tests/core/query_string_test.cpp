#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/query_string.hpp"

using namespace expd::core;

namespace {

std::string dry_run_fault(std::string_view query) {
  try {
    parse_dry_run_query(query);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

} // namespace

TEST(query_string, dry_run_takes_exactly_true_false_1_0) {
  EXPECT_FALSE(parse_dry_run_query(""));
  EXPECT_FALSE(parse_dry_run_query("dry_run=false"));
  EXPECT_FALSE(parse_dry_run_query("dry_run=0"));
  EXPECT_TRUE(parse_dry_run_query("dry_run=true"));
  EXPECT_TRUE(parse_dry_run_query("dry_run=1"));
  for (const char* q : {"dry_run=TRUE", "dry_run=yes", "dry_run=on", "dry_run=", "dry_run",
                        "dry_run=true%00", "dry_run=true&dry_run=false"})
    EXPECT_EQ(dry_run_fault(q), "dry_run") << q;
  EXPECT_EQ(dry_run_fault("dryrun=true"), "dryrun");
}

TEST(query_string, decoded_text_is_checked) {
  auto p = parse_query_parameters("a=%c3%a9+b&b=", {"a", "b"});
  EXPECT_EQ(p.at("a"), "\xc3\xa9 b");
  EXPECT_EQ(p.at("b"), "");
  auto fault = [](std::string_view q) {
    try {
      parse_query_parameters(q, {"a"});
    } catch (const field_error& e) {
      return e.field();
    }
    return std::string{"no error"};
  };
  EXPECT_EQ(fault("a=%ff"), "a");
  EXPECT_EQ(fault("a=%00"), "a");
  EXPECT_EQ(fault("a=%1f"), "a");
  EXPECT_EQ(fault("a%00=1"), "query");
}
