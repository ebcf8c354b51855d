// core::paired_bootstrap against SciPy's scipy.stats.bootstrap (paired, percentile),
// tests/core/paired_bootstrap_reference.py, on rows the test draws. Both resample at
// random, so the intervals agree to the Monte Carlo error of their percentiles: within
// a tenth of the bootstrap standard error at 20,000 resamples (about 5 of its errors).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/paired_bootstrap.hpp"
#include "tests/support/python_reference.hpp"

namespace {

using expd::core::paired_bootstrap;

struct rows {
  std::vector<double> candidate, baseline;
};

// Scores in [0, 1] whose pairs are strongly correlated (as two models on the same rows
// are), so an unpaired interval would be several times wider than the paired one.
rows draw(std::size_t n, double lift, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> u(0, 1);
  rows r;
  for (std::size_t i = 0; i < n; ++i) {
    double difficulty = u(engine);
    r.baseline.push_back(std::clamp(difficulty + 0.05 * (u(engine) - 0.5), 0.0, 1.0));
    r.candidate.push_back(std::clamp(difficulty + lift + 0.05 * (u(engine) - 0.5), 0.0, 1.0));
  }
  return r;
}

std::string script_path() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/paired_bootstrap_reference.py";
}

TEST(paired_bootstrap, agrees_with_scipy) {
  if (!expd::test::python_has("numpy scipy"))
    GTEST_SKIP() << "/usr/bin/python3 with numpy and scipy is not installed";
  struct trial {
    std::size_t n;
    double lift;
    double confidence;
  };
  const std::vector<trial> trials = {{40, 0.02, 0.95}, {200, -0.01, 0.9}, {1000, 0.0, 0.99}, {25, 0.1, 0.95}};
  std::vector<std::string> requests;
  std::vector<rows> data;
  for (std::size_t t = 0; t < trials.size(); ++t) {
    data.push_back(draw(trials[t].n, trials[t].lift, 100 + t));
    auto path = testing::TempDir() + "bootstrap_" + std::to_string(::getpid()) + "_" + std::to_string(t) + ".f64";
    std::ofstream out(path, std::ios::binary);
    for (std::size_t i = 0; i < trials[t].n; ++i) {
      out.write(reinterpret_cast<const char*>(&data[t].candidate[i]), sizeof(double));
      out.write(reinterpret_cast<const char*>(&data[t].baseline[i]), sizeof(double));
    }
    requests.push_back(path + " 20000 " + std::to_string(trials[t].confidence));
  }
  auto answers = expd::test::run_python_file(script_path(), requests);
  ASSERT_EQ(answers.size(), trials.size()) << "the reference script failed";
  for (std::size_t t = 0; t < trials.size(); ++t) {
    std::istringstream in(answers[t]);
    double mean = 0, low = 0, high = 0, se = 0;
    in >> mean >> low >> high >> se;
    auto got = paired_bootstrap(data[t].candidate, data[t].baseline, 20000, trials[t].confidence, 3);
    EXPECT_NEAR(got.estimate, mean, 1e-12) << "trial " << t;
    EXPECT_NEAR(got.low, low, 0.1 * se) << "trial " << t << " (bootstrap standard error " << se << ")";
    EXPECT_NEAR(got.high, high, 0.1 * se) << "trial " << t;
    EXPECT_LT(got.low, got.estimate);
    EXPECT_GT(got.high, got.estimate);
  }
}

TEST(paired_bootstrap, is_the_same_for_the_same_seed_and_narrower_than_unpaired) {
  auto r = draw(300, 0.01, 9);
  auto a = paired_bootstrap(r.candidate, r.baseline, 2000, 0.95, 5);
  auto b = paired_bootstrap(r.candidate, r.baseline, 2000, 0.95, 5);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  // The pairs share their difficulty: the interval is far narrower than the spread of
  // either side's mean, which is what pairing buys.
  double var = 0, mean = 0;
  for (double x : r.baseline)
    mean += x / r.baseline.size();
  for (double x : r.baseline)
    var += (x - mean) * (x - mean) / (r.baseline.size() - 1);
  double unpaired_width = 2 * 1.96 * std::sqrt(2 * var / r.baseline.size());
  EXPECT_LT(a.high - a.low, unpaired_width / 4);
}

TEST(paired_bootstrap, identical_rows_give_a_zero_interval) {
  std::vector<double> same = {0.1, 0.5, 0.9, 0.3};
  auto got = paired_bootstrap(same, same, 500, 0.95, 1);
  EXPECT_EQ(got.estimate, 0);
  EXPECT_EQ(got.low, 0);
  EXPECT_EQ(got.high, 0);
}

TEST(paired_bootstrap, refuses_what_it_cannot_compute) {
  EXPECT_THROW(paired_bootstrap({1, 2}, {1}, 100, 0.95, 1), std::invalid_argument);
  EXPECT_THROW(paired_bootstrap({}, {}, 100, 0.95, 1), std::invalid_argument);
  EXPECT_THROW(paired_bootstrap({1}, {1}, 0, 0.95, 1), std::invalid_argument);
  EXPECT_THROW(paired_bootstrap({1}, {1}, 100, 1.0, 1), std::invalid_argument);
}

} // namespace
