// Power and sample size (core/power.hpp) against statsmodels' NormalIndPower and the
// formulas written out in NumPy (tests/core/power_reference.py). The test draws per-unit
// values from seeded generators, hands the raw values to the reference and only their
// moments to core/, and wants agreement to 1e-9 relative.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "core/power.hpp"
#include "tests/core/reference_samples.hpp"

using namespace expd::core;
using namespace expd::test;

namespace {

constexpr double tolerance = 1e-9;
using st = statistic_status;

sample make_sample(std::vector<double> values) {
  return expd::test::make_sample(std::move(values), "power");
}

std::vector<std::vector<double>> ask(const std::vector<std::string>& requests) {
  return expd::test::ask_reference(expd::test::script_beside(__FILE__, "power_reference.py"), requests);
}

// A number as the reference reads it back: all 17 digits.
std::string number(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

class power_reference : public testing::Test {
protected:
  void SetUp() override {
    if (!expd::test::python_has("numpy scipy statsmodels"))
      GTEST_SKIP() << "/usr/bin/python3 with numpy, scipy and statsmodels is not installed";
  }
  std::mt19937_64 rng{20250115};
};

struct size_case {
  const char* name;
  sample control;
  double relative_mde, alpha, power, ratio;
};

} // namespace

TEST_F(power_reference, mean_sample_size_agrees_with_normal_ind_power) {
  std::vector<size_case> cases;
  for (std::size_t n = 2; n <= 5; ++n)
    cases.push_back({"small", make_sample(normal(rng, n, 10, 3)), 0.05, 0.05, 0.8, 1});
  cases.push_back({"skewed, ratio 2", make_sample(lognormal(rng, 400, 1, 1)), 0.02, 0.01, 0.9, 2});
  cases.push_back({"a million, ratio 1/2", make_sample(normal(rng, 1000000, 10, 3)), 0.001,
                   0.05, 0.8, 0.5});
  // |mean| for a negative mean; power below 1/2 (but above alpha/2).
  cases.push_back({"negative mean, low power", make_sample(normal(rng, 50, -5, 2)), 0.1, 0.2,
                   0.3, 3.7});
  cases.push_back({"power just above alpha/2", make_sample(normal(rng, 30, 4, 1)), 0.2, 0.1,
                   0.06, 1});
  cases.push_back({"strict", make_sample(lognormal(rng, 1000, 0, 0.5)), 0.01, 1e-4, 0.999, 1});
  cases.push_back({"a large effect", make_sample(normal(rng, 100, 1, 1)), 3, 0.05, 0.8, 1});

  std::vector<sample_size> ours;
  std::vector<std::string> requests;
  for (auto& c : cases) {
    ours.push_back(sample_size_for_mean(c.control.m, c.relative_mde, c.alpha, c.power, c.ratio));
    requests.push_back("mean_n " + c.control.path + " " + number(c.relative_mde) + " "
                       + number(c.alpha) + " " + number(c.power) + " " + number(c.ratio) + " "
                       + number(ours.back().control_units.value_or(1)));
  }
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    auto& r = answers[i];
    auto& s = ours[i];
    std::string what = std::string(c.name) + " n=" + std::to_string(c.control.values.size());
    ASSERT_EQ(r.size(), 6u) << what;
    EXPECT_EQ(s.status, st::ok) << what;
    expect_agrees(s.control_units, r[0], what + " control units (NormalIndPower)");
    // solve_power's own answer, to its xtol of 1e-5 units.
    if (!std::isnan(r[5])) {
      EXPECT_NEAR(*s.control_units, r[5], 2e-5) << what << " control units (solve_power)";
    }
    expect_agrees(s.control_units, r[1], what + " control units (closed form)");
    expect_agrees(s.treatment_units, c.ratio * r[0], what + " treatment units");
    expect_agrees(s.absolute_effect, r[4], what + " absolute effect");
    // statsmodels' two-sided power at our size: ours plus the wrong-sign tail.
    EXPECT_NEAR(r[2] - r[3], c.power, tolerance) << what << " two-sided power";
  }
}

TEST_F(power_reference, conversion_sample_size_agrees_with_the_formula) {
  std::vector<size_case> cases;
  cases.push_back({"two units", make_sample({0, 1}), 0.1, 0.05, 0.8, 1});
  cases.push_back({"three units", make_sample({1, 0, 0}), 0.5, 0.05, 0.8, 2});
  cases.push_back({"a thousand", make_sample(conversions(rng, 1000, 0.1)), 0.05, 0.05, 0.8, 1});
  cases.push_back({"a million, a small effect", make_sample(conversions(rng, 1000000, 0.03)),
                   0.01, 0.01, 0.9, 0.5});
  cases.push_back({"a high rate", make_sample(conversions(rng, 500, 0.8)), 0.2, 0.1, 0.3, 4});
  cases.push_back({"low power", make_sample(conversions(rng, 2000, 0.4)), 0.05, 0.05, 0.03, 1});

  std::vector<std::string> requests;
  for (auto& c : cases)
    requests.push_back("conversion_n " + c.control.path + " " + number(c.relative_mde) + " "
                       + number(c.alpha) + " " + number(c.power) + " " + number(c.ratio));
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    auto& r = answers[i];
    std::string what = c.name;
    ASSERT_EQ(r.size(), 3u) << what;
    auto s = sample_size_for_conversion(c.control.m, c.relative_mde, c.alpha, c.power, c.ratio);
    EXPECT_EQ(s.status, st::ok) << what;
    expect_agrees(s.control_units, r[0], what + " control units");
    expect_agrees(s.treatment_units, r[1], what + " treatment units");
    expect_agrees(s.absolute_effect, r[2], what + " p' - p");
  }
}

TEST_F(power_reference, minimum_detectable_effect_agrees_with_normal_ind_power) {
  struct mde_case {
    const char* name;
    sample treatment, control;
    double alpha, power;
    statistic_status expected;
  };
  std::vector<mde_case> cases;
  for (std::size_t n = 2; n <= 5; ++n)
    cases.push_back({"small", make_sample(normal(rng, n, 10.5, 3)),
                     make_sample(normal(rng, 7 - n, 10, 2)), 0.05, 0.8, st::ok});
  cases.push_back({"skewed", make_sample(lognormal(rng, 600, 1, 1.2)),
                   make_sample(lognormal(rng, 400, 1, 1)), 0.01, 0.9, st::ok});
  cases.push_back({"conversions", make_sample(conversions(rng, 3000, 0.12)),
                   make_sample(conversions(rng, 2900, 0.1)), 0.05, 0.8, st::ok});
  cases.push_back({"a million", make_sample(normal(rng, 1000000, 10.01, 3)),
                   make_sample(normal(rng, 999000, 10, 2.5)), 0.05, 0.5, st::ok});
  cases.push_back({"negative control mean, low power", make_sample(normal(rng, 80, -3, 1)),
                   make_sample(normal(rng, 120, -3.2, 1.5)), 0.2, 0.25, st::ok});
  cases.push_back({"constant control", make_sample(normal(rng, 6, 3, 1)),
                   make_sample({2, 2, 2, 2, 2}), 0.05, 0.8, st::ok});
  cases.push_back({"control mean zero", make_sample(normal(rng, 8, 1, 1)),
                   make_sample({-1, 1, -2.5, 2.5, -3, 3}), 0.05, 0.8, st::control_mean_zero});

  std::vector<detectable_effect> ours;
  std::vector<std::string> requests;
  for (auto& c : cases) {
    ours.push_back(minimum_detectable_effect(c.treatment.m, c.control.m, c.alpha, c.power));
    requests.push_back("mde " + c.treatment.path + " " + c.control.path + " " + number(c.alpha)
                       + " " + number(c.power) + " " + number(ours.back().absolute.value_or(1)));
  }
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    auto& r = answers[i];
    auto& e = ours[i];
    std::string what = c.name;
    ASSERT_EQ(r.size(), 5u) << what;
    EXPECT_EQ(e.status, c.expected) << what;
    expect_agrees(e.absolute, r[0], what + " absolute");
    expect_agrees(e.relative, r[1], what + " relative");
    // At our MDE statsmodels finds `power` in the effect's direction, and the two-sided
    // power adds the wrong-sign tail.
    EXPECT_NEAR(r[2], c.power, tolerance) << what << " power at the MDE";
    EXPECT_NEAR(r[3] - r[4], c.power, tolerance) << what << " two-sided power at the MDE";
  }
}

TEST(power, sample_sizes_refuse_what_they_cannot_size) {
  const moments control{100, 1000, 10400}; // mean 10, variance about 4.04
  const moments conversion{1000, 100, 100};
  ASSERT_EQ(sample_size_for_mean(control, 0.05).status, st::ok);
  ASSERT_EQ(sample_size_for_conversion(conversion, 0.05).status, st::ok);
  auto refused = [](const sample_size& s) {
    return !s.control_units && !s.treatment_units && !s.absolute_effect;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = INFINITY;
  struct levels {
    double relative_mde, alpha, power, ratio;
  };
  const levels bad[] = {
    {0.05, 0, 0.8, 1},    {0.05, 1, 0.8, 1},     {0.05, -0.1, 0.8, 1}, {0.05, nan, 0.8, 1},
    {0.05, 0.05, 1, 1},   {0.05, 0.05, 0.025, 1}, {0.05, 0.05, 0.01, 1}, {0.05, 0.05, nan, 1},
    {0.05, 0.05, 1.2, 1}, {0, 0.05, 0.8, 1},     {-0.05, 0.05, 0.8, 1}, {inf, 0.05, 0.8, 1},
    {nan, 0.05, 0.8, 1},  {0.05, 0.05, 0.8, 0},  {0.05, 0.05, 0.8, -1}, {0.05, 0.05, 0.8, inf},
    {0.05, 0.05, 0.8, nan},
  };
  for (auto& b : bad) {
    auto what = number(b.relative_mde) + " " + number(b.alpha) + " " + number(b.power) + " "
                + number(b.ratio);
    auto m = sample_size_for_mean(control, b.relative_mde, b.alpha, b.power, b.ratio);
    auto c = sample_size_for_conversion(conversion, b.relative_mde, b.alpha, b.power, b.ratio);
    EXPECT_EQ(m.status, st::invalid_input) << what;
    EXPECT_EQ(c.status, st::invalid_input) << what;
    EXPECT_TRUE(refused(m) && refused(c)) << what;
  }
  // Just above alpha/2 is still a power.
  EXPECT_EQ(sample_size_for_mean(control, 0.05, 0.05, 0.0251).status, st::ok);

  const moments malformed[] = {{-1, 0, 0}, {2, 1, -1}, {0, 1, 1}, {2, 10, 1}, {NAN, 1, 1},
                               {2, INFINITY, 1}};
  for (auto& m : malformed) {
    EXPECT_EQ(sample_size_for_mean(m, 0.05).status, st::invalid_input) << m.n << " " << m.sum;
    EXPECT_EQ(sample_size_for_conversion(m, 0.05).status, st::invalid_input) << m.n;
  }
  // Not conversions: more than units, or sum_sq that 0/1 values cannot have.
  EXPECT_EQ(sample_size_for_conversion({10, 11, 11}, 0.05).status, st::invalid_input);
  EXPECT_EQ(sample_size_for_conversion({10, 3, 5}, 0.05).status, st::invalid_input);
  EXPECT_EQ(sample_size_for_conversion({10, -1, -1}, 0.05).status, st::invalid_input);

  for (auto& m : {moments{0, 0, 0}, moments{1, 5, 25}, moments{1, 1, 1}}) {
    auto s = sample_size_for_mean(m, 0.05);
    EXPECT_EQ(s.status, st::not_enough_data) << m.n;
    EXPECT_TRUE(refused(s));
    s = sample_size_for_conversion(m.n == 1 ? moments{1, 1, 1} : m, 0.05);
    EXPECT_EQ(s.status, st::not_enough_data) << m.n;
    EXPECT_TRUE(refused(s));
  }
  // A constant control: its variance says nothing of the metric's.
  auto constant = sample_size_for_mean({4, 12, 36}, 0.05);
  EXPECT_EQ(constant.status, st::zero_variance);
  EXPECT_TRUE(refused(constant));
  EXPECT_EQ(sample_size_for_mean({4, 0, 0}, 0.05).status, st::zero_variance);
  // Mean (or rate) zero: a relative effect of it is zero.
  auto zero_mean = sample_size_for_mean({4, 0, 8}, 0.05);
  EXPECT_EQ(zero_mean.status, st::control_mean_zero);
  EXPECT_TRUE(refused(zero_mean));
  EXPECT_EQ(sample_size_for_conversion({100, 0, 0}, 0.05).status, st::control_mean_zero);
  // p' = p (1 + mde) at or past 1 cannot happen.
  EXPECT_EQ(sample_size_for_conversion({100, 50, 50}, 1.0).status, st::invalid_input);
  EXPECT_EQ(sample_size_for_conversion({100, 50, 50}, 1.5).status, st::invalid_input);
  EXPECT_EQ(sample_size_for_conversion({100, 100, 100}, 0.01).status, st::invalid_input);
  EXPECT_EQ(sample_size_for_conversion({100, 50, 50}, 0.99).status, st::ok);
  // A size no double holds is refused rather than infinite.
  auto tiny = sample_size_for_mean(control, 1e-300);
  EXPECT_EQ(tiny.status, st::invalid_input);
  EXPECT_TRUE(refused(tiny));
}

TEST(power, sample_sizes_follow_the_closed_form) {
  // mean 10, variance 4 exactly: {n, sum, sum_sq} with sum_sq = (n-1) var + sum^2 / n.
  const moments control{5, 50, 516};
  // 20% of 10 is 2 = one sd, so n_c = (1.959964 + 0.841621)^2 * 2 at ratio 1.
  auto s = sample_size_for_mean(control, 0.2);
  ASSERT_EQ(s.status, st::ok);
  EXPECT_NEAR(*s.control_units, 15.69775947, 1e-7);
  EXPECT_EQ(*s.treatment_units, *s.control_units);
  EXPECT_NEAR(*s.absolute_effect, 2.0, 1e-15);
  // Twice the treatment units: the control needs (1 + 1/2) / 2 of that.
  auto twice = sample_size_for_mean(control, 0.2, 0.05, 0.8, 2);
  EXPECT_NEAR(*twice.control_units, *s.control_units * 0.75, 1e-12);
  EXPECT_NEAR(*twice.treatment_units, *s.control_units * 1.5, 1e-12);
  // A negative mean sizes as its absolute value.
  EXPECT_NEAR(*sample_size_for_mean({5, -50, 516}, 0.2).control_units, *s.control_units, 1e-12);
}

TEST(power, minimum_detectable_effect_refuses_what_it_cannot_compute) {
  const moments t{100, 1050, 11500}, c{100, 1000, 10400};
  ASSERT_EQ(minimum_detectable_effect(t, c).status, st::ok);
  const moments malformed[] = {{-1, 0, 0}, {2, 1, -1}, {0, 1, 1}, {2, 10, 1}, {NAN, 1, 1},
                               {2, INFINITY, 1}};
  for (auto& m : malformed) {
    EXPECT_EQ(minimum_detectable_effect(m, c).status, st::invalid_input) << m.n;
    EXPECT_EQ(minimum_detectable_effect(t, m).status, st::invalid_input) << m.n;
  }
  for (auto [alpha, power] : {std::pair{0.0, 0.8}, {1.0, 0.8}, {NAN, 0.8}, {0.05, 1.0},
                              {0.05, 0.02}, {0.05, NAN}}) {
    auto e = minimum_detectable_effect(t, c, alpha, power);
    EXPECT_EQ(e.status, st::invalid_input) << alpha << " " << power;
    EXPECT_FALSE(e.absolute || e.relative);
  }
  for (auto& small : {moments{0, 0, 0}, moments{1, 3, 9}}) {
    auto e = minimum_detectable_effect(small, c);
    EXPECT_EQ(e.status, st::not_enough_data);
    EXPECT_FALSE(e.absolute || e.relative);
    EXPECT_EQ(minimum_detectable_effect(t, small).status, st::not_enough_data);
  }
  auto constant = minimum_detectable_effect({3, 6, 12}, {4, 4, 4});
  EXPECT_EQ(constant.status, st::zero_variance);
  EXPECT_FALSE(constant.absolute || constant.relative);
  // Control mean zero: the absolute MDE is there, the relative one is not.
  auto zero = minimum_detectable_effect(t, {4, 0, 8});
  EXPECT_EQ(zero.status, st::control_mean_zero);
  EXPECT_TRUE(zero.absolute && std::isfinite(*zero.absolute));
  EXPECT_FALSE(zero.relative);
}

TEST(power, days_left_by_hand) {
  // Control needs 1000, has 400, gains 100 a day: 6 days. Treatment needs 1000, has 700,
  // gains 50 a day: 6 days too; with 25 a day, 12.
  auto d = days_left({{1000, 400, 100}, {1000, 700, 50}});
  EXPECT_EQ(d.status, st::ok);
  EXPECT_EQ(d.days, 6.0);
  EXPECT_EQ(days_left({{1000, 400, 100}, {1000, 700, 25}}).days, 12.0);
  // Fractions stay: 150 units at 40 a day is 3.75 days.
  EXPECT_EQ(days_left({{250, 100, 40}, {10, 0, 100}}).days, 3.75);
  // An arm past its need counts 0, never negative; all past: 0 days.
  EXPECT_EQ(days_left({{1000, 1500, 100}, {1000, 900, 10}}).days, 10.0);
  auto done = days_left({{1000, 1500, 100}, {1000, 1000, 0}});
  EXPECT_EQ(done.status, st::ok);
  EXPECT_EQ(done.days, 0.0);
  // One arm alone, and three arms.
  EXPECT_EQ(days_left({{90, 0, 30}}).days, 3.0);
  EXPECT_EQ(days_left({{90, 0, 30}, {90, 0, 10}, {90, 80, 1}}).days, 10.0);
  // An arm with its units needs no rate; one without them and without a rate has no
  // estimate, whatever the others say.
  EXPECT_EQ(days_left({{100, 100, 0}, {100, 50, 10}}).days, 5.0);
  auto stalled = days_left({{100, 50, 0}, {100, 50, 10}});
  EXPECT_EQ(stalled.status, st::not_enough_data);
  EXPECT_FALSE(stalled.days);
  auto crawling = days_left({{1e300, 0, 1e-300}});
  EXPECT_EQ(crawling.status, st::not_enough_data);
  EXPECT_FALSE(crawling.days);
  // Nothing to wait for, and numbers no count has.
  EXPECT_EQ(days_left({}).status, st::invalid_input);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const arm_progress bad[] = {{-1, 0, 1}, {10, -1, 1}, {10, 0, -1}, {nan, 0, 1},
                              {10, nan, 1}, {10, 0, nan}, {INFINITY, 0, 1}, {10, 0, INFINITY}};
  for (auto& b : bad) {
    auto e = days_left({{10, 0, 1}, b});
    EXPECT_EQ(e.status, st::invalid_input) << b.needed << " " << b.have << " " << b.per_day;
    EXPECT_FALSE(e.days);
  }
}

TEST(power, sizes_and_effects_meet) {
  // Arms of the size sample_size_for_mean asks, with the control's variance in both,
  // have the asked effect as their MDE.
  const moments control{5, 50, 516}; // mean 10, variance 4
  auto s = sample_size_for_mean(control, 0.2, 0.05, 0.9, 3);
  ASSERT_EQ(s.status, st::ok);
  auto arm = [](double n) { return moments{n, 10 * n, 4 * (n - 1) + 100 * n}; };
  auto e = minimum_detectable_effect(arm(*s.treatment_units), arm(*s.control_units), 0.05, 0.9);
  ASSERT_EQ(e.status, st::ok);
  EXPECT_NEAR(*e.relative, 0.2, 1e-12);
}
