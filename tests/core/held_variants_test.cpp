#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/held_variants.hpp"

using namespace expd::core;

TEST(held_variants, finds_what_each_unit_holds_in_each_experiment) {
  held_variants h;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> naive;
  std::mt19937 rng{7};
  for (int i = 0; i < 5000; ++i) {
    auto e = rng() % 4, u = rng() % 2000, v = rng() % 9;
    h.add(e, u, v);
    naive[{e, u}] = v; // the later row wins
  }
  h.seal();
  EXPECT_EQ(h.size(), naive.size());
  for (std::uint32_t e = 0; e < 5; ++e)
    for (std::uint32_t u = 0; u < 2100; ++u) {
      auto it = naive.find({e, u});
      auto got = h.held(e, u);
      if (it == naive.end())
        EXPECT_FALSE(got) << e << " " << u;
      else
        EXPECT_EQ(got, it->second) << e << " " << u;
    }
  std::map<std::uint32_t, std::uint32_t> in_two;
  h.each_in(2, [&](std::uint32_t unit, std::uint32_t variant) { in_two[unit] = variant; });
  std::size_t expected = 0;
  for (auto& [k, v] : naive)
    if (k.first == 2) {
      ++expected;
      EXPECT_EQ(in_two[k.second], v);
    }
  EXPECT_EQ(in_two.size(), expected);
}

TEST(held_variants, an_empty_index_holds_nothing) {
  held_variants h;
  h.seal();
  EXPECT_FALSE(h.held(0, 0));
  EXPECT_EQ(h.size(), 0u);
}
