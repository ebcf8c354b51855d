#include <gtest/gtest.h>

#include "core/json_depth.hpp"
#include "core/uuid.hpp"

using namespace expd::core;

TEST(uuid, parses_and_prints_canonical_form) {
  auto id = uuid::parse("0F8FAD5B-D9CB-469F-A165-70867728950E");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->str(), "0f8fad5b-d9cb-469f-a165-70867728950e");
  EXPECT_EQ(id->hi, 0x0f8fad5bd9cb469fULL);
  EXPECT_EQ(id->lo, 0xa16570867728950eULL);
}

TEST(uuid, refuses_malformed_text) {
  EXPECT_FALSE(uuid::parse(""));
  EXPECT_FALSE(uuid::parse("0f8fad5b-d9cb-469f-a165-70867728950"));
  EXPECT_FALSE(uuid::parse("0f8fad5b-d9cb-469f-a165-70867728950e0"));
  EXPECT_FALSE(uuid::parse("0f8fad5bxd9cb-469f-a165-70867728950e"));
  EXPECT_FALSE(uuid::parse("0f8fad5b-d9cb-469f-a165-70867728950g"));
}

TEST(json_depth, counts_nesting_outside_strings) {
  EXPECT_FALSE(json_nesting_exceeds(R"({"a":[1,{"b":2}]})", 3));
  EXPECT_TRUE(json_nesting_exceeds(R"({"a":[1,{"b":[2]}]})", 3));
  EXPECT_FALSE(json_nesting_exceeds(R"({"a":"[[[[[[[[\"[[[["})", 1));
  EXPECT_TRUE(json_nesting_exceeds(std::string(100, '['), 64));
  EXPECT_FALSE(json_nesting_exceeds(std::string(64, '['), 64));
}
