#pragma once

// What the statistics and power tests share: per-unit values drawn from seeded
// generators, written for the Python reference to read, their moments for core/, and
// the reference's answers read back.

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/statistics.hpp"
#include "tests/support/python_reference.hpp"

namespace expd::test {

/// Moments summed in `Sum`. A sum over n values in double is off by up to about
/// sqrt(n) * eps relative (n * eps at worst); a million units then move a p-value of
/// 1e-160 by about 1e-9, since the t behind it (near 27) amplifies its own error t^2
/// times. Comparisons sum in long double, so that they test the formulas and not the
/// aggregate's rounding; a zero-variance case sums in double, as aggregates do.
template <class Sum = long double>
core::moments moments_of(const std::vector<double>& values) {
  Sum n = 0, sum = 0, sum_sq = 0;
  for (auto v : values) {
    n += 1;
    sum += v;
    sum_sq += static_cast<Sum>(v) * v;
  }
  return {static_cast<double>(n), static_cast<double>(sum), static_cast<double>(sum_sq)};
}

/// Per-unit values, their moments, and the file the reference reads them from.
struct sample {
  std::vector<double> values;
  core::moments m;
  std::string path;
};

/// The values as little-endian float64 in a temporary file named after `prefix`.
inline sample make_sample(std::vector<double> values, const std::string& prefix) {
  static int count = 0;
  sample s{std::move(values), {}, testing::TempDir() + prefix + "_" + std::to_string(::getpid())
                                     + "_" + std::to_string(count++) + ".f64"};
  s.m = moments_of(s.values);
  std::ofstream(s.path, std::ios::binary)
    .write(reinterpret_cast<const char*>(s.values.data()),
           static_cast<std::streamsize>(s.values.size() * sizeof(double)));
  return s;
}

template <class Distribution>
std::vector<double> draw(std::mt19937_64& rng, std::size_t n, Distribution distribution) {
  std::vector<double> out(n);
  for (auto& v : out)
    v = static_cast<double>(distribution(rng));
  return out;
}

inline std::vector<double> normal(std::mt19937_64& rng, std::size_t n, double mean, double sd) {
  return draw(rng, n, std::normal_distribution<double>(mean, sd));
}

inline std::vector<double> lognormal(std::mt19937_64& rng, std::size_t n, double m, double s) {
  return draw(rng, n, std::lognormal_distribution<double>(m, s));
}

/// 0/1 values: a conversion metric.
inline std::vector<double> conversions(std::mt19937_64& rng, std::size_t n, double rate) {
  return draw(rng, n, std::bernoulli_distribution(rate));
}

/// The reference script beside `test_file` (pass __FILE__) named `script`.
inline std::string script_beside(const std::string& test_file, const std::string& script) {
  return test_file.substr(0, test_file.rfind('/')) + "/" + script;
}

/// The reference's answers, one list of numbers per request.
inline std::vector<std::vector<double>> ask_reference(const std::string& script,
                                                      const std::vector<std::string>& requests) {
  auto lines = run_python_file(script, requests);
  EXPECT_EQ(lines.size(), requests.size()) << "the reference script failed";
  std::vector<std::vector<double>> out;
  for (auto& line : lines) {
    std::istringstream in(line);
    std::vector<double> numbers;
    for (std::string word; in >> word;)
      numbers.push_back(std::stod(word));
    out.push_back(numbers);
  }
  out.resize(requests.size());
  return out;
}

/// `actual` agrees with `expected` to `tolerance` relative; a NaN reference (undefined)
/// wants no value. `scale` is the size of the terms a value is a difference of (the
/// means, for a difference of means or an interval's bounds): such a value carries
/// absolute rounding of about eps * scale however small it is, so near zero it is held
/// to tolerance * scale.
inline void expect_agrees(std::optional<double> actual, double expected, const std::string& what,
                          double scale = 0, double tolerance = 1e-9) {
  if (std::isnan(expected)) {
    EXPECT_FALSE(actual.has_value()) << what << " is undefined in the reference";
    return;
  }
  ASSERT_TRUE(actual.has_value()) << what << " missing; reference " << expected;
  EXPECT_LE(std::abs(*actual - expected), tolerance * std::max(std::abs(expected), scale))
    << std::setprecision(17) << what << ": " << *actual << " against " << expected;
}

} // namespace expd::test
