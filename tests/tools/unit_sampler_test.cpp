// expctl load's unit ranks against SciPy: the test draws from its seeded samplers and
// the reference judges the rank frequencies by a chi-square goodness of fit against
// scipy.stats.zipfian's pmf (and a uniform one), pooling the tail bins expected to hold
// fewer than 5 draws.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/support/python_reference.hpp"
#include "tools/unit_sampler.hpp"

using namespace expd::tools;

namespace {

// Each line: "zipf N S COUNTS..." or "uniform N COUNTS..."; answers the p-value.
const char* reference = R"(
import sys
import numpy as np
from scipy import stats

for line in sys.stdin:
    words = line.split()
    kind, n = words[0], int(words[1])
    if kind == "zipf":
        s = float(words[2])
        observed = np.array([int(w) for w in words[3:]], dtype=float)
        pmf = stats.zipfian.pmf(np.arange(1, n + 1), s, n)
    else:
        observed = np.array([int(w) for w in words[2:]], dtype=float)
        pmf = np.full(n, 1.0 / n)
    expected = pmf * observed.sum()
    # Pool the tail from the first bin expected to hold fewer than 5 draws.
    small = np.nonzero(expected < 5)[0]
    cut = small[0] if len(small) else n
    obs = np.append(observed[:cut], observed[cut:].sum())
    exp = np.append(expected[:cut], expected[cut:].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    print(repr(stats.chisquare(obs, exp).pvalue))
)";

template <class Draw>
std::string counts_line(std::string head, std::uint64_t n, std::size_t draws, Draw draw) {
  std::vector<std::uint64_t> counts(n, 0);
  for (std::size_t i = 0; i < draws; ++i) {
    std::uint64_t k = draw();
    EXPECT_GE(k, 1u);
    EXPECT_LE(k, n);
    if (k >= 1 && k <= n)
      ++counts[k - 1];
  }
  std::ostringstream line;
  line << head;
  for (auto c : counts)
    line << ' ' << c;
  return line.str();
}

} // namespace

TEST(unit_sampler, zipf_rank_frequencies_fit_scipy_zipfian) {
  if (!expd::test::python_has("numpy scipy"))
    GTEST_SKIP() << "/usr/bin/python3 with numpy and scipy is not installed";
  struct setting {
    std::uint64_t n;
    double s;
  };
  // s = 1 (the default), below and above it; n small and large enough to have a tail.
  std::vector<setting> settings = {{1000, 1.0}, {1000, 0.5}, {1000, 1.5}, {50, 2.5}, {20000, 1.1}, {1, 1.0}};
  std::vector<std::string> lines;
  std::mt19937_64 rng(20261201);
  for (auto [n, s] : settings) {
    zipf_sampler zipf(n, s);
    std::ostringstream head;
    head.precision(17);
    head << "zipf " << n << ' ' << s;
    lines.push_back(counts_line(head.str(), n, 300000, [&] { return zipf(rng); }));
  }
  lines.push_back(counts_line("uniform 1000", 1000, 300000, [&] { return uniform_rank(rng, 1000); }));
  auto answers = expd::test::run_python(reference, lines);
  ASSERT_EQ(answers.size(), lines.size()) << "the reference script failed";
  for (std::size_t i = 0; i < settings.size(); ++i) {
    double p = std::stod(answers[i]);
    // n = 1 has one bin: chisquare has no degrees of freedom and answers nan.
    if (settings[i].n > 1) {
      EXPECT_GT(p, 1e-3) << "zipf n=" << settings[i].n << " s=" << settings[i].s;
    }
  }
  EXPECT_GT(std::stod(answers.back()), 1e-3) << "uniform";
}

TEST(unit_sampler, a_seed_gives_the_same_ranks_and_zipf_favours_the_low_ones) {
  zipf_sampler zipf(100000, 1.0);
  std::mt19937_64 a(7), b(7);
  std::size_t rank_one = 0;
  for (int i = 0; i < 10000; ++i) {
    auto k = zipf(a);
    EXPECT_EQ(k, zipf(b));
    rank_one += k == 1;
  }
  // P(1) = 1 / H(100000) = 0.0830
  EXPECT_NEAR(rank_one / 10000.0, 0.083, 0.01);
  EXPECT_EQ(zipf_sampler(1, 3.0)(a), 1u);
  for (int i = 0; i < 1000; ++i) {
    auto k = uniform_rank(a, 3);
    EXPECT_TRUE(k >= 1 && k <= 3);
  }
  EXPECT_EQ(uniform_rank(a, 1), 1u);
}
