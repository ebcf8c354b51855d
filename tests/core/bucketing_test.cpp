#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/bucketing.hpp"

using namespace expd::core;

namespace {

struct hash_vector {
  std::string salt;
  std::string unit_id;
  std::uint64_t hash;
  std::uint32_t bucket;
};

// Computed independently with Python's xxhash (Debian python3-xxhash):
// xxhash.xxh64((salt + ":" + unit_id).encode("utf-8"), seed=0). Published in
// docs/assignment.md for client implementers.
const std::vector<hash_vector> vectors{
  {"planner_policy_exp", "user-123", 1328903869379596043ULL, 6043},
  {"planner_policy_exp", "user-1", 197252538705014856ULL, 4856},
  {"planner_policy_exp", "user-2", 4608929197811550350ULL, 350},
  {"planner_policy_exp", "", 5456052607451584700ULL, 4700},
  {"checkout_flow", "household-42", 13406694065869964954ULL, 4954},
  {"salt with spaces", "ünïcödé-ユーザー", 16216288319153706386ULL, 6386},
  {"exp", std::string(300, 'a'), 17484131194670858400ULL, 8400},
};

} // namespace

TEST(bucketing, matches_published_vectors) {
  for (auto& v : vectors) {
    EXPECT_EQ(unit_hash(v.salt, v.unit_id), v.hash) << v.salt << ":" << v.unit_id;
    EXPECT_EQ(bucket_of(v.salt, v.unit_id), v.bucket) << v.salt << ":" << v.unit_id;
  }
}

TEST(bucketing, widths_round_half_away_from_zero) {
  EXPECT_EQ(bucket_width(0.5), 5000u);
  EXPECT_EQ(bucket_width(0.1), 1000u);
  EXPECT_EQ(bucket_width(0.00005), 1u); // 0.5 bucket rounds up
  EXPECT_EQ(bucket_width(0.00004), 0u);
  EXPECT_EQ(bucket_width(1.0), 10000u);
  EXPECT_EQ(bucket_width(0.0), 0u);
  EXPECT_EQ(bucket_width(1.0 / 3), 3333u);
}

TEST(bucketing, variants_take_consecutive_ranges_in_order) {
  auto ends = bucket_range_ends({0.2, 0.3, 0.1});
  ASSERT_EQ(ends, (std::vector<std::uint32_t>{2000, 5000, 6000}));
  EXPECT_EQ(variant_for_bucket(ends, 0), 0);
  EXPECT_EQ(variant_for_bucket(ends, 1999), 0);
  EXPECT_EQ(variant_for_bucket(ends, 2000), 1);
  EXPECT_EQ(variant_for_bucket(ends, 4999), 1);
  EXPECT_EQ(variant_for_bucket(ends, 5000), 2);
  EXPECT_EQ(variant_for_bucket(ends, 5999), 2);
  EXPECT_EQ(variant_for_bucket(ends, 6000), -1); // past the last range: not enrolled
  EXPECT_EQ(variant_for_bucket(ends, 9999), -1);
}

TEST(bucketing, zero_allocation_variant_gets_no_buckets) {
  auto ends = bucket_range_ends({0.5, 0.0, 0.5});
  EXPECT_EQ(variant_for_bucket(ends, 4999), 0);
  EXPECT_EQ(variant_for_bucket(ends, 5000), 2);
}

// Pearson chi-square over all 10000 buckets for 1M units. Critical values from SciPy:
// chi2.ppf(0.001, 9999) = 9567.69 and chi2.ppf(0.999, 9999) = 10441.71. Units are
// fixed ids, so the test is deterministic: it fails only if the hash is not uniform.
TEST(bucketing, buckets_are_uniform_over_a_million_units) {
  constexpr int units = 1000000;
  std::vector<int> counts(bucket_count, 0);
  for (int i = 0; i < units; ++i)
    ++counts[bucket_of("uniformity_exp", "user-" + std::to_string(i))];
  double expected = static_cast<double>(units) / bucket_count;
  double chi2 = 0;
  for (auto c : counts)
    chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_GT(chi2, 9567.69);
  EXPECT_LT(chi2, 10441.71);
}

// Buckets of two experiments (different salts) must not be correlated: a 10x10
// contingency table of bucket deciles, chi-square test of independence with 81
// degrees of freedom; SciPy: chi2.ppf(0.001, 81) = 47.28, chi2.ppf(0.999, 81) = 126.08.
TEST(bucketing, two_experiments_bucket_independently) {
  constexpr int units = 1000000;
  std::vector<std::vector<double>> table(10, std::vector<double>(10, 0));
  for (int i = 0; i < units; ++i) {
    auto id = "user-" + std::to_string(i);
    ++table[bucket_of("exp_a", id) / 1000][bucket_of("exp_b", id) / 1000];
  }
  std::vector<double> rows(10, 0), cols(10, 0);
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 10; ++c) {
      rows[r] += table[r][c];
      cols[c] += table[r][c];
    }
  double chi2 = 0;
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 10; ++c) {
      double expected = rows[r] * cols[c] / units;
      chi2 += (table[r][c] - expected) * (table[r][c] - expected) / expected;
    }
  EXPECT_GT(chi2, 47.28);
  EXPECT_LT(chi2, 126.08);
}
