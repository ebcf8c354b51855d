#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

#include "core/string_interner.hpp"

using expd::core::string_interner;

TEST(string_interner, numbers_distinct_strings_densely_and_repeats_alike) {
  string_interner in;
  EXPECT_EQ(in.intern("user-1"), 0u);
  EXPECT_EQ(in.intern("user-2"), 1u);
  EXPECT_EQ(in.intern("user-1"), 0u);
  EXPECT_EQ(in.intern(""), 2u);
  EXPECT_EQ(in.intern(std::string("a\0b", 3)), 3u);
  EXPECT_EQ(in.intern(std::string("a\0c", 3)), 4u);
  EXPECT_EQ(in.intern(""), 2u);
  EXPECT_EQ(in.size(), 5u);
  EXPECT_EQ(in.at(4), std::string("a\0c", 3));
}

TEST(string_interner, agrees_with_a_map_across_many_growths) {
  string_interner in;
  std::unordered_map<std::string, std::uint32_t> want;
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 100000; i += 1 + round) {
      auto s = "unit-" + std::to_string(i * 7919 % 100003);
      auto [it, added] = want.try_emplace(s, static_cast<std::uint32_t>(want.size()));
      ASSERT_EQ(in.intern(s), it->second) << s;
    }
  ASSERT_EQ(in.size(), want.size());
  for (auto& [s, id] : want)
    ASSERT_EQ(in.at(id), s);
}
