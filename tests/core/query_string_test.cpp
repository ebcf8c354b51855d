#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/query_string.hpp"

using namespace expd::core;

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
