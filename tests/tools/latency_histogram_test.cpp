// expctl load's latency histogram: its percentiles against numpy.percentile (the
// inverted_cdf method, the definition the histogram states) on samples the test draws,
// within the 1/256 relative error of a bucket's middle; and that bound itself.

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "tests/support/python_reference.hpp"
#include "tools/latency_histogram.hpp"

using namespace expd::tools;

namespace {

constexpr double bound = 1.0 / 256;
const std::vector<double> percents = {0, 1, 25, 50, 90, 99, 99.9, 99.99, 100};

// Each line: a file of little-endian uint64 values; answers their percentiles.
const char* reference = R"(
import sys
import numpy as np

percents = [0, 1, 25, 50, 90, 99, 99.9, 99.99, 100]
for line in sys.stdin:
    values = np.fromfile(line.strip(), dtype="<u8")
    print(" ".join(repr(float(v)) for v in np.percentile(values, percents, method="inverted_cdf")))
)";

std::string write_values(const std::vector<std::uint64_t>& values) {
  static int count = 0;
  std::string path = testing::TempDir() + "latencies_" + std::to_string(::getpid()) + "_"
                     + std::to_string(count++) + ".u64";
  std::ofstream(path, std::ios::binary)
    .write(reinterpret_cast<const char*>(values.data()),
           static_cast<std::streamsize>(values.size() * sizeof(std::uint64_t)));
  return path;
}

} // namespace

TEST(latency_histogram, percentiles_match_numpy_within_the_stated_error) {
  if (!expd::test::python_has("numpy"))
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed";
  std::mt19937_64 rng(20261201);
  std::vector<std::vector<std::uint64_t>> samples;
  // Latencies in ns: a lognormal body around 100 us, one with a far tail (stalls of
  // tens of ms in 1%), small exact values, and a handful of values.
  std::lognormal_distribution<double> body(std::log(100e3), 0.4), stall(std::log(30e6), 0.5);
  std::uniform_real_distribution<double> coin(0, 1);
  std::vector<std::uint64_t> a, b, c, d = {5, 1'000'000'000, 170, 999};
  for (int i = 0; i < 200000; ++i)
    a.push_back(static_cast<std::uint64_t>(body(rng)));
  for (int i = 0; i < 200000; ++i)
    b.push_back(static_cast<std::uint64_t>(coin(rng) < 0.01 ? stall(rng) : body(rng)));
  for (int i = 0; i < 10000; ++i)
    c.push_back(static_cast<std::uint64_t>(coin(rng) * 300));
  samples = {a, b, c, d};
  std::vector<std::string> lines, paths;
  for (auto& s : samples)
    lines.push_back(write_values(s));
  auto answers = expd::test::run_python(reference, lines);
  ASSERT_EQ(answers.size(), samples.size()) << "the reference script failed";
  for (std::size_t i = 0; i < samples.size(); ++i) {
    latency_histogram h;
    for (auto v : samples[i])
      h.record(v);
    std::istringstream in(answers[i]);
    for (double p : percents) {
      double want;
      in >> want;
      double got = static_cast<double>(h.percentile(p));
      EXPECT_LE(std::abs(got - want), bound * want) << "sample " << i << " p" << p << ": " << got << " vs " << want;
    }
    EXPECT_EQ(h.max(), *std::max_element(samples[i].begin(), samples[i].end()));
    EXPECT_EQ(h.min(), *std::min_element(samples[i].begin(), samples[i].end()));
    std::remove(lines[i].c_str());
  }
}

TEST(latency_histogram, every_bucket_middle_is_within_1_in_256_of_its_values) {
  // Below 256 buckets are exact; above, check both ends of buckets across the range.
  for (std::uint64_t v = 0; v < 256; ++v)
    EXPECT_EQ(latency_histogram::middle_of(latency_histogram::index_of(v)), v);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t v = rng() >> (rng() % 64);
    if (v < 256)
      continue;
    auto index = latency_histogram::index_of(v);
    ASSERT_LT(index, latency_histogram::bucket_count);
    double middle = static_cast<double>(latency_histogram::middle_of(index));
    EXPECT_LE(std::abs(middle - static_cast<double>(v)), bound * static_cast<double>(v)) << v;
  }
  EXPECT_EQ(latency_histogram::index_of(UINT64_MAX), latency_histogram::bucket_count - 1);
  // Indices grow with the value: a percentile walks buckets in order.
  for (std::uint64_t v = 1; v < (1u << 20); v += 7)
    EXPECT_LE(latency_histogram::index_of(v - 1), latency_histogram::index_of(v));
}

TEST(latency_histogram, merging_is_recording_into_one) {
  latency_histogram one, left, right;
  for (std::uint64_t v = 1; v < 5000; v += 3) {
    one.record(v * 1000);
    (v % 2 ? left : right).record(v * 1000);
  }
  left.merge(right);
  EXPECT_EQ(left.count(), one.count());
  for (double p : percents)
    EXPECT_EQ(left.percentile(p), one.percentile(p)) << p;
  EXPECT_EQ(left.max(), one.max());
  EXPECT_DOUBLE_EQ(left.mean(), one.mean());
  latency_histogram empty;
  EXPECT_EQ(empty.percentile(50), 0u);
  EXPECT_EQ(empty.max(), 0u);
}
