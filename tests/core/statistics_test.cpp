// The statistics of core/ against SciPy and statsmodels (tests/core/statistics_reference.py).
// The test draws per-unit values from seeded generators, hands the raw values to the
// reference and only their moments to core/, and wants agreement to 1e-9 relative.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/cuped.hpp"
#include "core/multiple_testing.hpp"
#include "core/proportions.hpp"
#include "core/srm.hpp"
#include "core/statistics.hpp"
#include "tests/core/reference_samples.hpp"

using namespace expd::core;
using namespace expd::test;

namespace {

using expd::test::expect_agrees;

std::string script_path() {
  return expd::test::script_beside(__FILE__, "statistics_reference.py");
}

sample make_sample(std::vector<double> values) {
  return expd::test::make_sample(std::move(values), "statistics");
}

std::vector<std::vector<double>> ask(const std::vector<std::string>& requests) {
  return expd::test::ask_reference(script_path(), requests);
}

std::string join(const std::vector<double>& values) {
  if (values.empty())
    return "-";
  std::ostringstream out;
  out << std::setprecision(17);
  for (std::size_t i = 0; i < values.size(); ++i)
    out << (i ? "," : "") << values[i];
  return out.str();
}

void expect_agrees(std::optional<interval> actual, double lower, double upper,
                   const std::string& what, double scale) {
  expect_agrees(actual ? std::optional(actual->lower) : std::nullopt, lower, what + " lower",
                scale);
  expect_agrees(actual ? std::optional(actual->upper) : std::nullopt, upper, what + " upper",
                scale);
}

double mean_of(const moments& m) {
  return m.n > 0 ? m.sum / m.n : 0;
}

class statistics_reference : public testing::Test {
protected:
  void SetUp() override {
    if (!expd::test::python_has("numpy scipy statsmodels"))
      GTEST_SKIP() << "/usr/bin/python3 with numpy, scipy and statsmodels is not installed";
  }
  std::mt19937_64 rng{20250101};
};

// Two arms and the status the absolute comparison must have.
struct arm_pair {
  const char* name;
  sample treatment, control;
  statistic_status expected;
};

} // namespace

TEST(statistics, statuses_have_names) {
  EXPECT_EQ(to_string(statistic_status::ok), "ok");
  EXPECT_EQ(to_string(statistic_status::not_enough_data), "not enough data");
  EXPECT_EQ(to_string(statistic_status::zero_variance), "zero variance");
  EXPECT_EQ(to_string(statistic_status::control_mean_zero), "control mean is zero");
  EXPECT_EQ(to_string(statistic_status::invalid_input), "invalid input");
}

TEST(statistics, refuses_moments_no_data_has) {
  const moments bad[] = {{-1, 0, 0}, {2, 1, -1}, {0, 1, 1}, {2, 10, 1}, {NAN, 1, 1},
                         {2, INFINITY, 1}};
  const moments good{10, 5, 5};
  for (auto& m : bad) {
    EXPECT_EQ(summarize(m).status, statistic_status::invalid_input) << m.n << " " << m.sum;
    EXPECT_EQ(welch_test(m, good).status, statistic_status::invalid_input);
    EXPECT_EQ(welch_test(good, m).relative_status, statistic_status::invalid_input);
    EXPECT_EQ(chance_to_beat(good, m).status, statistic_status::invalid_input);
  }
  EXPECT_EQ(summarize(good, 1.0).status, statistic_status::invalid_input);
  EXPECT_EQ(welch_test(good, good, 0.0).status, statistic_status::invalid_input);
  EXPECT_EQ(msprt_p_value(good, good, 0.0).status, statistic_status::invalid_input);
  EXPECT_EQ(msprt_p_value(good, good, 1.0, 0.0).status, statistic_status::invalid_input);
  // Conversions: more than units, or sum_sq that 0/1 values cannot have.
  EXPECT_EQ(two_proportion_test({10, 11, 11}, good).status, statistic_status::invalid_input);
  EXPECT_EQ(two_proportion_test({10, 3, 5}, good).status, statistic_status::invalid_input);
  EXPECT_EQ(conversion_chance_to_beat(good, {10, -1, -1}).status,
            statistic_status::invalid_input);
  const moments bad_conversions[] = {{10, 11, 11}, {10, 3, 5}, {10, -1, -1}, {-1, 0, 0},
                                     {NAN, 1, 1}, {10, INFINITY, INFINITY}, {0, 1, 1}};
  for (auto& m : bad_conversions) {
    auto s = summarize_conversion(m);
    EXPECT_EQ(s.status, statistic_status::invalid_input) << m.n << " " << m.sum;
    EXPECT_FALSE(s.mean || s.variance || s.std_error || s.mean_ci);
  }
  EXPECT_EQ(summarize_conversion(good, 1.0).status, statistic_status::invalid_input);
  EXPECT_EQ(summarize_conversion(good, 0.0).status, statistic_status::invalid_input);
  EXPECT_EQ(summarize_conversion(good, NAN).status, statistic_status::invalid_input);
}

TEST_F(statistics_reference, summaries_agree_with_scipy) {
  struct summary_case {
    sample s;
    double confidence;
    statistic_status expected;
  };
  std::vector<summary_case> cases;
  for (std::size_t n = 2; n <= 5; ++n)
    cases.push_back({make_sample(normal(rng, n, 10, 3)), 0.95, statistic_status::ok});
  cases.push_back({make_sample(lognormal(rng, 40, 1, 1)), 0.8, statistic_status::ok});
  cases.push_back({make_sample(conversions(rng, 500, 0.2)), 0.99, statistic_status::ok});
  cases.push_back({make_sample(normal(rng, 1000000, 10, 3)), 0.95, statistic_status::ok});
  cases.push_back({make_sample({-2, 1, 1}), 0.95, statistic_status::ok});
  std::vector<std::string> requests;
  for (auto& c : cases)
    requests.push_back("summary " + c.s.path + " " + std::to_string(c.confidence));
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto& r = answers[i];
    ASSERT_EQ(r.size(), 5u);
    auto s = summarize(cases[i].s.m, cases[i].confidence);
    auto what = "summary n=" + std::to_string(cases[i].s.values.size()) + " ";
    EXPECT_EQ(s.status, cases[i].expected) << what;
    auto scale = std::abs(r[0]) + std::abs(r[4] - r[3]);
    expect_agrees(s.mean, r[0], what + "mean", scale);
    expect_agrees(s.variance, r[1], what + "variance");
    expect_agrees(s.std_error, r[2], what + "std error");
    expect_agrees(s.mean_ci, r[3], r[4], what + "interval", scale);
  }
}

// Empty and one-unit arms, and every value equal, where SciPy answers NaN.
TEST_F(statistics_reference, summaries_say_why_when_scipy_has_nan) {
  auto empty = make_sample({}), one = make_sample({4.5}), constant = make_sample({0.1, 0.1, 0.1}),
       huge_constant = make_sample(std::vector<double>(1000000, 0.1));
  auto answers = ask({"summary " + empty.path + " 0.95", "summary " + one.path + " 0.95",
                      "summary " + constant.path + " 0.95",
                      "summary " + huge_constant.path + " 0.95"});
  ASSERT_EQ(answers[0].size(), 5u);
  EXPECT_TRUE(std::isnan(answers[0][0]) && std::isnan(answers[0][1]));
  auto s = summarize(empty.m);
  EXPECT_EQ(s.status, statistic_status::not_enough_data);
  EXPECT_FALSE(s.mean || s.variance || s.std_error || s.mean_ci);

  ASSERT_EQ(answers[1].size(), 5u);
  EXPECT_TRUE(std::isnan(answers[1][1]));
  s = summarize(one.m);
  EXPECT_EQ(s.status, statistic_status::not_enough_data);
  expect_agrees(s.mean, answers[1][0], "one unit's mean");
  EXPECT_FALSE(s.variance || s.std_error || s.mean_ci);

  // SciPy's variance of equal values is zero up to its own rounding, and so is the width
  // of its interval. Ours is zero, and there is no interval: one of zero width would
  // claim certainty that equal values in a sample do not give.
  struct constant_case {
    const char* name;
    moments m;
    const std::vector<double>& reference;
  };
  const constant_case constants[] = {
    {"three equal values", constant.m, answers[2]},
    {"a million equal values", huge_constant.m, answers[3]},
    // 0.1 summed a million times in double is not 1e5, nor its squares 1e4.
    {"a million summed in double", moments_of<double>(huge_constant.values), answers[3]},
  };
  for (auto& c : constants) {
    auto& r = c.reference;
    ASSERT_EQ(r.size(), 5u);
    EXPECT_LE(r[1], 1e-30);
    s = summarize(c.m);
    EXPECT_EQ(s.status, statistic_status::zero_variance) << c.name;
    expect_agrees(s.mean, r[0], std::string(c.name) + " mean");
    EXPECT_EQ(s.variance, 0.0) << c.name;
    EXPECT_EQ(s.std_error, 0.0) << c.name;
    EXPECT_FALSE(s.mean_ci) << c.name;
    EXPECT_LE(r[4] - r[3], 1e-12 * std::abs(r[0])) << c.name;
  }
}

TEST_F(statistics_reference, welch_agrees_with_scipy_and_statsmodels) {
  using st = statistic_status;
  std::vector<arm_pair> pairs;
  for (std::size_t n = 2; n <= 5; ++n)
    pairs.push_back({"small", make_sample(normal(rng, n, 10.5, 3)),
                     make_sample(normal(rng, 7 - n, 10, 2)), st::ok});
  pairs.push_back({"equal small", make_sample(normal(rng, 4, 1, 1)),
                   make_sample(normal(rng, 4, 0, 1)), st::ok});
  pairs.push_back({"skewed", make_sample(lognormal(rng, 60, 1, 1.2)),
                   make_sample(lognormal(rng, 40, 1, 1)), st::ok});
  pairs.push_back({"conversion", make_sample(conversions(rng, 300, 0.3)),
                   make_sample(conversions(rng, 200, 0.25)), st::ok});
  pairs.push_back({"huge", make_sample(normal(rng, 1000000, 10.01, 3)),
                   make_sample(normal(rng, 1000000, 10, 3)), st::ok});
  pairs.push_back({"huge, strong effect", make_sample(normal(rng, 1000000, 10.1, 3)),
                   make_sample(normal(rng, 999000, 10, 2.5)), st::ok});
  pairs.push_back({"constant control", make_sample(normal(rng, 6, 3, 1)),
                   make_sample({2, 2, 2, 2, 2}), st::ok});
  pairs.push_back({"control mean zero", make_sample(normal(rng, 8, 1, 1)),
                   make_sample({-1, 1, -2.5, 2.5, -3, 3}), st::ok});
  // A control of zeros (no refunds) against a varying treatment: V = var_t / n_t > 0,
  // so every test is there; equal arms meet the paper's closed form for the mSPRT.
  pairs.push_back({"control of zeros", make_sample(conversions(rng, 400, 0.07)),
                   make_sample(std::vector<double>(400, 0.0)), st::ok});
  pairs.push_back({"control of zeros, unequal", make_sample(lognormal(rng, 30, 0, 1)),
                   make_sample(std::vector<double>(50, 0.0)), st::ok});
  // A treatment of zeros: the delta method's se of the lift is 0, so no relative interval.
  pairs.push_back({"treatment of zeros", make_sample(std::vector<double>(20, 0.0)),
                   make_sample(lognormal(rng, 25, 0, 1)), st::ok});
  pairs.push_back({"both constant", make_sample({3, 3, 3}), make_sample({2, 2, 2, 2}),
                   st::zero_variance});
  pairs.push_back({"one unit", make_sample({1}), make_sample(normal(rng, 5, 0, 1)),
                   st::not_enough_data});
  pairs.push_back({"empty control", make_sample(normal(rng, 5, 0, 1)), make_sample({}),
                   st::not_enough_data});
  const double tau_sq = 0.5;
  std::vector<std::string> requests;
  for (auto& p : pairs) {
    auto arms = p.treatment.path + " " + p.control.path;
    requests.push_back("welch " + arms + " 0.95");
    requests.push_back("relative " + arms + " 0.9");
    requests.push_back("chance " + arms);
    requests.push_back("msprt " + arms + " " + std::to_string(tau_sq));
  }
  auto answers = ask(requests);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    auto& p = pairs[i];
    auto& welch = answers[4 * i];
    auto& rel = answers[4 * i + 1];
    ASSERT_EQ(welch.size(), 6u) << p.name;
    ASSERT_EQ(rel.size(), 3u) << p.name;
    auto w = welch_test(p.treatment.m, p.control.m, 0.95);
    auto r = welch_test(p.treatment.m, p.control.m, 0.9);
    auto chance = chance_to_beat(p.treatment.m, p.control.m);
    auto msprt = msprt_p_value(p.treatment.m, p.control.m, tau_sq);
    std::string what = p.name;
    EXPECT_EQ(w.status, p.expected) << what;
    EXPECT_EQ(chance.status, p.expected) << what;
    EXPECT_EQ(msprt.status, p.expected) << what;
    // SciPy cannot test these either: its t is NaN (not enough data) or infinite (the
    // variance is zero; it then says p = 0 where we say the test is undefined).
    EXPECT_EQ(std::isfinite(welch[3]), p.expected == st::ok) << what;
    if (p.expected == st::not_enough_data) {
      EXPECT_FALSE(w.difference || w.p_value || w.relative_lift || chance.value || msprt.value);
      EXPECT_EQ(w.relative_status, st::not_enough_data);
      continue;
    }
    auto scale = std::max(std::abs(mean_of(p.treatment.m)), std::abs(mean_of(p.control.m)));
    expect_agrees(w.difference, welch[0], what + " difference", scale);
    if (p.expected == st::zero_variance) {
      EXPECT_FALSE(w.difference_ci || w.t || w.df || w.p_value || w.relative_ci);
      EXPECT_EQ(w.relative_status, st::zero_variance);
      expect_agrees(w.relative_lift, rel[0], what + " relative lift");
      EXPECT_FALSE(chance.value || msprt.value);
      continue;
    }
    expect_agrees(w.difference_ci, welch[1], welch[2], what + " interval",
                  scale + welch[2] - welch[1]);
    expect_agrees(w.t, welch[3], what + " t");
    expect_agrees(w.df, welch[4], what + " df");
    expect_agrees(w.p_value, welch[5], what + " p");
    if (mean_of(p.control.m) == 0) {
      EXPECT_EQ(r.relative_status, st::control_mean_zero) << what;
      EXPECT_FALSE(r.relative_lift || r.relative_ci);
    } else if (p.treatment.m.sum_sq == 0) {
      EXPECT_EQ(r.relative_status, st::zero_variance) << what;
      EXPECT_TRUE(std::isnan(rel[1])) << what << ": the reference's se is not 0";
      EXPECT_FALSE(r.relative_ci) << what;
    } else {
      EXPECT_EQ(r.relative_status, st::ok) << what;
    }
    auto rel_scale = std::abs(rel[0]) + std::abs(rel[2] - rel[1]);
    expect_agrees(r.relative_lift, rel[0], what + " relative lift", rel_scale);
    expect_agrees(r.relative_ci, rel[1], rel[2], what + " relative interval", rel_scale);
    expect_agrees(chance.value, answers[4 * i + 2].at(0), what + " chance to beat");
    expect_agrees(msprt.value, answers[4 * i + 3].at(0), what + " always-valid p");
  }
}

// A constant control adds nothing to V = var_t/n_t + var_c/n_c: the p-value is there as
// long as the treatment varies, and agrees with the closed form worked in Python.
TEST_F(statistics_reference, msprt_p_value_with_a_constant_control_agrees_with_the_formula) {
  auto treatment = make_sample(normal(rng, 200, 0.3, 1)),
       zeros = make_sample(std::vector<double>(200, 0.0)),
       twos = make_sample(std::vector<double>(150, 2.0));
  const double taus[] = {0.01, 1.0, 25.0};
  std::vector<std::string> requests;
  for (auto tau_sq : taus) {
    requests.push_back("msprt " + treatment.path + " " + zeros.path + " " + std::to_string(tau_sq));
    requests.push_back("msprt " + treatment.path + " " + twos.path + " " + std::to_string(tau_sq));
  }
  auto answers = ask(requests);
  for (std::size_t i = 0; i < std::size(taus); ++i) {
    auto tau_sq = std::stod(std::to_string(taus[i]));
    auto on_zeros = msprt_p_value(treatment.m, zeros.m, tau_sq);
    auto on_twos = msprt_p_value(treatment.m, twos.m, tau_sq);
    EXPECT_EQ(on_zeros.status, statistic_status::ok);
    EXPECT_EQ(on_twos.status, statistic_status::ok);
    expect_agrees(on_zeros.value, answers[2 * i].at(0), "zeros, tau^2 " + std::to_string(tau_sq));
    expect_agrees(on_twos.value, answers[2 * i + 1].at(0), "twos, tau^2 " + std::to_string(tau_sq));
  }
  // Both constant: V = 0, no test.
  EXPECT_EQ(msprt_p_value(twos.m, zeros.m, 1.0).status, statistic_status::zero_variance);
}

TEST(statistics, msprt_p_value_is_a_running_minimum) {
  const moments t{1000, 10500, 120000}, c{1000, 10000, 110000};
  auto now = msprt_p_value(t, c, 1.0);
  ASSERT_TRUE(now.value);
  EXPECT_LT(*now.value, 1.0);
  EXPECT_EQ(msprt_p_value(t, c, 1.0, *now.value / 2).value, *now.value / 2);
  EXPECT_EQ(msprt_p_value(t, c, 1.0, 1.0).value, now.value);
  // No difference: the mixture likelihood ratio is below one, the p-value stays at one.
  EXPECT_EQ(msprt_p_value(c, c, 1.0).value, 1.0);
}

TEST_F(statistics_reference, proportions_agree_with_statsmodels) {
  using st = statistic_status;
  std::vector<arm_pair> pairs;
  for (std::size_t n = 2; n <= 5; ++n)
    pairs.push_back({"small", make_sample(conversions(rng, n, 0.5)),
                     make_sample(conversions(rng, 8 - n, 0.4)), st::ok});
  pairs.push_back({"moderate", make_sample(conversions(rng, 300, 0.12)),
                   make_sample(conversions(rng, 250, 0.1)), st::ok});
  pairs.push_back({"huge", make_sample(conversions(rng, 1000000, 0.101)),
                   make_sample(conversions(rng, 1000000, 0.1)), st::ok});
  pairs.push_back({"0% against 30%", make_sample(std::vector<double>(40, 0.0)),
                   make_sample(conversions(rng, 50, 0.3)), st::ok});
  pairs.push_back({"10% against 0%", make_sample(conversions(rng, 60, 0.1)),
                   make_sample(std::vector<double>(45, 0.0)), st::ok});
  pairs.push_back({"100% against 60%", make_sample(std::vector<double>(25, 1.0)),
                   make_sample(conversions(rng, 35, 0.6)), st::ok});
  // The unpooled variance is zero whenever each arm is at 0% or 100%: the difference is
  // known exactly (here -1), but there is nothing to test it with.
  pairs.push_back({"0% against 100%", make_sample(std::vector<double>(20, 0.0)),
                   make_sample(std::vector<double>(30, 1.0)), st::zero_variance});
  pairs.push_back({"both 0%", make_sample(std::vector<double>(50, 0.0)),
                   make_sample(std::vector<double>(40, 0.0)), st::zero_variance});
  pairs.push_back({"both 100%", make_sample(std::vector<double>(3, 1.0)),
                   make_sample(std::vector<double>(7, 1.0)), st::zero_variance});
  pairs.push_back({"one unit", make_sample({1}), make_sample(conversions(rng, 9, 0.5)),
                   st::not_enough_data});
  pairs.push_back({"empty", make_sample(conversions(rng, 9, 0.5)), make_sample({}),
                   st::not_enough_data});
  std::vector<std::string> requests;
  for (auto& p : pairs) {
    requests.push_back("proportions " + p.treatment.path + " " + p.control.path + " 0.95");
    requests.push_back("beta_chance " + p.treatment.path + " " + p.control.path);
  }
  auto answers = ask(requests);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    auto& p = pairs[i];
    auto& z = answers[2 * i];
    auto& beta = answers[2 * i + 1];
    ASSERT_EQ(z.size(), 6u) << p.name;
    ASSERT_EQ(beta.size(), 2u) << p.name;
    std::string what = p.name;
    auto test = two_proportion_test(p.treatment.m, p.control.m);
    auto chance = conversion_chance_to_beat(p.treatment.m, p.control.m);
    EXPECT_EQ(test.status, p.expected) << what;
    // statsmodels tests an arm of one unit (a rate of 0 or 1 with no spread to speak of);
    // we refuse it, as for means.
    if (p.expected == st::not_enough_data) {
      EXPECT_FALSE(test.difference || test.p_value || chance.value) << what;
      EXPECT_EQ(chance.status, st::not_enough_data);
      continue;
    }
    // Where statsmodels' Wald variance is 0, its z is 0/0 or d/0.
    EXPECT_EQ(z[5] == 0, p.expected == st::zero_variance) << what;
    EXPECT_EQ(std::isfinite(z[3]), p.expected == st::ok) << what;
    // Rates are at most 1: differences are held to 1e-9 absolute near zero.
    expect_agrees(test.difference, z[0], what + " difference", 1.0);
    if (p.expected == st::ok) {
      expect_agrees(test.difference_ci, z[1], z[2], what + " interval", 1.0);
      expect_agrees(test.z, z[3], what + " z");
      expect_agrees(test.p_value, z[4], what + " p");
      // One variance for both: p < 0.05 exactly when the 95% interval leaves out 0.
      EXPECT_EQ(*test.p_value < 0.05, test.difference_ci->lower > 0 || test.difference_ci->upper < 0)
        << what;
    } else {
      EXPECT_FALSE(test.difference_ci || test.z || test.p_value) << what;
    }
    // The posteriors exist whatever the rates: the chance is always there.
    EXPECT_EQ(chance.status, st::ok) << what;
    expect_agrees(chance.value, beta[0], what + " chance to beat (quad)");
    if (!std::isnan(beta[1]))
      expect_agrees(chance.value, beta[1], what + " chance to beat (exact sum)");
  }
}

TEST_F(statistics_reference, conversion_summaries_agree_with_statsmodels_wilson) {
  struct conversion_case {
    const char* name;
    sample s;
    double confidence;
  };
  std::vector<double> one_in_a_million(1000000, 0.0);
  one_in_a_million[123456] = 1;
  std::vector<conversion_case> cases;
  for (std::size_t n = 1; n <= 5; ++n)
    cases.push_back({"small", make_sample(conversions(rng, n, 0.4)), 0.95});
  cases.push_back({"0 of 1", make_sample({0}), 0.95});
  cases.push_back({"1 of 1", make_sample({1}), 0.9});
  cases.push_back({"0 of 2", make_sample({0, 0}), 0.95});
  cases.push_back({"2 of 2", make_sample({1, 1}), 0.99});
  cases.push_back({"0 of 300", make_sample(std::vector<double>(300, 0.0)), 0.95});
  cases.push_back({"moderate", make_sample(conversions(rng, 500, 0.2)), 0.8});
  cases.push_back({"at one half", make_sample({0, 1, 1, 0, 1, 0}), 0.95});
  cases.push_back({"rare, huge", make_sample(conversions(rng, 1000000, 0.001)), 0.95});
  cases.push_back({"1 in a million", make_sample(one_in_a_million), 0.99});
  cases.push_back({"nearly all", make_sample(conversions(rng, 2000, 0.995)), 0.95});
  std::vector<std::string> requests;
  for (auto& c : cases)
    requests.push_back("wilson " + c.s.path + " " + std::to_string(c.confidence));
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    auto& r = answers[i];
    ASSERT_EQ(r.size(), 5u) << c.name;
    auto what = std::string(c.name) + " n=" + std::to_string(c.s.values.size()) + " ";
    auto s = summarize_conversion(c.s.m, std::stod(std::to_string(c.confidence)));
    EXPECT_EQ(s.status, statistic_status::ok) << what;
    expect_agrees(s.mean, r[0], what + "rate");
    expect_agrees(s.variance, r[1], what + "variance p(1-p)");
    expect_agrees(s.std_error, r[2], what + "std error");
    // The bounds are differences of terms up to the upper bound in size.
    expect_agrees(s.mean_ci, r[3], r[4], what + "Wilson interval", r[4]);
    ASSERT_TRUE(s.mean_ci) << what;
    EXPECT_GE(s.mean_ci->lower, 0.0) << what;
    EXPECT_LE(s.mean_ci->upper, 1.0) << what;
    EXPECT_LT(s.mean_ci->lower, s.mean_ci->upper) << what;
  }
  // At 0 of n and n of n the interval reaches the bound exactly and is not of zero width.
  auto none = summarize_conversion({2, 0, 0}), all = summarize_conversion({2, 2, 2});
  EXPECT_EQ(none.mean_ci->lower, 0.0);
  EXPECT_GT(none.mean_ci->upper, 0.5);
  EXPECT_EQ(all.mean_ci->upper, 1.0);
  EXPECT_LT(all.mean_ci->lower, 0.5);
  // No unit: nothing to estimate, and the reference agrees.
  auto empty = make_sample({});
  auto r = ask({"wilson " + empty.path + " 0.95"});
  ASSERT_EQ(r[0].size(), 5u);
  EXPECT_TRUE(std::isnan(r[0][0]));
  auto s = summarize_conversion(empty.m);
  EXPECT_EQ(s.status, statistic_status::not_enough_data);
  EXPECT_FALSE(s.mean || s.variance || s.std_error || s.mean_ci);
}

TEST_F(statistics_reference, sample_ratio_agrees_with_scipy_chisquare) {
  struct srm_case {
    const char* name;
    std::vector<double> units, allocations;
    bool mismatch;
  };
  auto split = [&](double total, const std::vector<double>& weights) {
    // A multinomial draw, one binomial at a time.
    std::vector<double> out;
    double left = total, weight_left = 0;
    for (auto w : weights)
      weight_left += w;
    for (auto w : weights) {
      auto share = std::binomial_distribution<long long>(static_cast<long long>(left),
                                                         std::min(1.0, w / weight_left))(rng);
      out.push_back(static_cast<double>(share));
      left -= static_cast<double>(share);
      weight_left -= w;
    }
    return out;
  };
  // Units at a retired variant (stale assignments) that must not count.
  auto with_stale = [](std::vector<double> units, double stale) {
    units.push_back(stale);
    return units;
  };
  std::vector<srm_case> cases = {
    {"balanced", split(10000, {0.5, 0.5}), {0.5, 0.5}, false},
    {"three ways", split(20000, {0.2, 0.3, 0.5}), {0.2, 0.3, 0.5}, false},
    {"a fifth of traffic", split(5000, {1, 1}), {0.1, 0.1}, false},
    {"huge", split(3000000, {0.9, 0.1}), {0.9, 0.1}, false},
    {"mismatch", {5000, 5400}, {0.5, 0.5}, true},
    {"tiny", {3, 1}, {0.5, 0.5}, false},
    {"gross mismatch", {1000000, 10}, {0.5, 0.5}, true},
    // A variant at allocation 0 is left out, its units with it.
    {"a retired variant", with_stale(split(4000, {0.5, 0.5}), 300), {0.5, 0.5, 0}, false},
    {"retired in the middle", split(9000, {0.3, 0.3, 0.4}), {0.3, 0, 0.4}, false},
    {"mismatch beside a retired one", {5000, 5400, 700}, {0.5, 0.5, 0}, true},
  };
  std::vector<std::string> requests;
  for (auto& c : cases)
    requests.push_back("srm " + join(c.units) + " " + join(c.allocations));
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    ASSERT_EQ(answers[i].size(), 2u) << c.name;
    auto check = check_sample_ratio(c.units, c.allocations);
    EXPECT_EQ(check.status, statistic_status::ok) << c.name;
    expect_agrees(check.chi_square, answers[i][0], std::string(c.name) + " chi-square");
    expect_agrees(check.p_value, answers[i][1], std::string(c.name) + " p");
    EXPECT_EQ(check.mismatch, c.mismatch) << c.name;
    EXPECT_EQ(check.mismatch, answers[i][1] < 0.001) << c.name;
    ASSERT_EQ(check.checked.size(), c.units.size()) << c.name;
    ASSERT_EQ(check.expected.size(), c.units.size()) << c.name;
    double units = 0, expected = 0, allocated = 0;
    for (std::size_t k = 0; k < c.units.size(); ++k) {
      EXPECT_EQ(check.checked[k], c.allocations[k] > 0) << c.name << " variant " << k;
      if (!check.checked[k]) {
        EXPECT_EQ(check.expected[k], 0.0) << c.name << " variant " << k;
        continue;
      }
      units += c.units[k];
      expected += check.expected[k];
      allocated += c.allocations[k];
    }
    // The checked variants' units, split by their allocations.
    EXPECT_NEAR(expected, units, 1e-9 * units) << c.name;
    for (std::size_t k = 0; k < c.units.size(); ++k)
      if (check.checked[k])
        EXPECT_NEAR(check.expected[k], units * c.allocations[k] / allocated, 1e-9 * units) << c.name;
  }
  auto lenient = check_sample_ratio({5000, 5400}, {0.5, 0.5}, 1e-6);
  EXPECT_FALSE(lenient.mismatch);
}

TEST(statistics, sample_ratio_refuses_what_it_cannot_check) {
  using st = statistic_status;
  EXPECT_EQ(check_sample_ratio({0, 0}, {0.5, 0.5}).status, st::not_enough_data);
  EXPECT_FALSE(check_sample_ratio({0, 0}, {0.5, 0.5}).p_value);
  // Fewer than two variants with a positive allocation: no split to check.
  EXPECT_EQ(check_sample_ratio({10}, {1}).status, st::not_enough_data);
  EXPECT_EQ(check_sample_ratio({}, {}).status, st::not_enough_data);
  auto one_left = check_sample_ratio({10, 10}, {0.5, 0});
  EXPECT_EQ(one_left.status, st::not_enough_data);
  EXPECT_FALSE(one_left.p_value || one_left.chi_square || one_left.mismatch);
  EXPECT_EQ(one_left.checked, (std::vector<bool>{true, false}));
  EXPECT_EQ(one_left.expected, (std::vector<double>{10, 0})); // the checked units, not all
  EXPECT_EQ(check_sample_ratio({10, 10, 5}, {0, 0, 0}).status, st::not_enough_data);
  // Units only at a variant left out: none in the check.
  EXPECT_EQ(check_sample_ratio({0, 0, 50}, {0.5, 0.5, 0}).status, st::not_enough_data);
  EXPECT_EQ(check_sample_ratio({10, 10}, {0.5}).status, st::invalid_input);
  EXPECT_EQ(check_sample_ratio({10, 10}, {0.5, -0.1}).status, st::invalid_input);
  EXPECT_EQ(check_sample_ratio({10, 10}, {0.5, NAN}).status, st::invalid_input);
  EXPECT_EQ(check_sample_ratio({10, 10}, {0.5, INFINITY}).status, st::invalid_input);
  EXPECT_EQ(check_sample_ratio({10, 10, 10}, {0.5, 0.5, -1}).status, st::invalid_input);
  EXPECT_EQ(check_sample_ratio({10, -1}, {0.5, 0.5}).status, st::invalid_input);
  EXPECT_EQ(check_sample_ratio({10, NAN}, {0.5, 0.5}).status, st::invalid_input);
  // The units of a variant left out must still be counts.
  EXPECT_EQ(check_sample_ratio({10, 10, -5}, {0.5, 0.5, 0}).status, st::invalid_input);
  EXPECT_EQ(check_sample_ratio({10, 10}, {0.5, 0.5}, 0).status, st::invalid_input);
  EXPECT_TRUE(check_sample_ratio({10, 10}, {0.5, -1}).checked.empty());
}

TEST_F(statistics_reference, cuped_agrees_with_numpy_and_scipy) {
  struct arm_values {
    sample y, x;
  };
  // y = 3 + 0.8 x + noise + effect, x the pre-period value.
  auto arm = [&](std::size_t n, double effect) {
    auto x = normal(rng, n, 20, 5);
    auto noise = normal(rng, n, 0, 2);
    std::vector<double> y(n);
    for (std::size_t i = 0; i < n; ++i)
      y[i] = 3 + 0.8 * x[i] + noise[i] + effect;
    return arm_values{make_sample(y), make_sample(x)};
  };
  auto cuped_of = [](const std::vector<arm_values>& arms) {
    std::vector<cuped_arm> in;
    for (auto& a : arms) {
      cuped_arm c{a.y.m, a.x.m, 0};
      for (std::size_t i = 0; i < a.x.values.size(); ++i)
        c.sum_xy += a.x.values[i] * a.y.values[i];
      in.push_back(c);
    }
    return cuped(in);
  };
  std::vector<std::vector<arm_values>> cases = {
    {arm(3, 1), arm(4, 0)},
    {arm(100, 0.5), arm(120, 0)},
    {arm(1000000, 0.02), arm(1000000, 0)},
    {arm(50, 1), arm(60, 0), arm(70, 0.5)},
  };
  std::vector<std::string> requests;
  for (auto& arms : cases) {
    std::string line = "cuped";
    for (auto& a : arms)
      line += " " + a.y.path + " " + a.x.path;
    requests.push_back(line);
  }
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto& r = answers[i];
    ASSERT_EQ(r.size(), 8u);
    auto what = "cuped case " + std::to_string(i);
    auto c = cuped_of(cases[i]);
    ASSERT_EQ(c.status, statistic_status::ok) << what;
    ASSERT_EQ(c.adjusted.size(), cases[i].size());
    expect_agrees(c.theta, r[0], what + " theta");
    expect_agrees(c.variance_reduction, r[1], what + " variance reduction");
    auto scale = std::max(std::abs(r[2]), std::abs(r[3]));
    expect_agrees(mean_of(c.adjusted[0]), r[2], what + " adjusted mean t", scale);
    expect_agrees(mean_of(c.adjusted[1]), r[3], what + " adjusted mean c", scale);
    expect_agrees(summarize(c.adjusted[0]).variance, r[4], what + " adjusted variance t");
    expect_agrees(summarize(c.adjusted[1]).variance, r[5], what + " adjusted variance c");
    auto w = welch_test(c.adjusted[0], c.adjusted[1]);
    expect_agrees(w.t, r[6], what + " adjusted t");
    expect_agrees(w.p_value, r[7], what + " adjusted p");
  }

  // A constant covariate gives nothing to adjust with; so NumPy's theta is 0/0.
  auto flat = arm(10, 0), other = arm(10, 0);
  flat.x = make_sample(std::vector<double>(10, 7.0));
  other.x = make_sample(std::vector<double>(10, 7.0));
  auto r = ask({"cuped " + flat.y.path + " " + flat.x.path + " " + other.y.path + " "
                + other.x.path});
  ASSERT_EQ(r[0].size(), 8u);
  EXPECT_TRUE(std::isnan(r[0][0]));
  auto c = cuped_of({flat, other});
  EXPECT_EQ(c.status, statistic_status::zero_variance);
  EXPECT_FALSE(c.theta || c.variance_reduction);
  EXPECT_TRUE(c.adjusted.empty());
}

TEST(statistics, cuped_refuses_what_it_cannot_adjust) {
  const moments y{10, 50, 300}, x{10, 20, 50};
  EXPECT_EQ(cuped({}).status, statistic_status::invalid_input);
  EXPECT_EQ(cuped({{y, x, 110}, {y, {9, 20, 50}, 110}}).status, statistic_status::invalid_input);
  EXPECT_EQ(cuped({{y, x, 110}, {{1, 5, 25}, {1, 2, 4}, 10}}).status,
            statistic_status::not_enough_data);
  EXPECT_EQ(cuped({{y, x, 110}, {{0, 0, 0}, {0, 0, 0}, 0}}).status,
            statistic_status::not_enough_data);
}

TEST_F(statistics_reference, corrections_agree_with_statsmodels_multipletests) {
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<std::vector<double>> cases = {{0.03}, {0.01, 0.04, 0.03, 0.5}, {}};
  std::vector<double> many;
  for (int i = 0; i < 30; ++i)
    many.push_back(i % 7 == 0 ? 0.02 : std::pow(uniform(rng), 3));
  many.push_back(0);
  many.push_back(1);
  cases.push_back(many);
  std::vector<std::string> requests;
  for (auto& p : cases) {
    requests.push_back("holm " + join(p));
    requests.push_back("bh " + join(p));
  }
  auto answers = ask(requests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto h = holm(cases[i]), b = benjamini_hochberg(cases[i]);
    EXPECT_EQ(h.status, statistic_status::ok);
    EXPECT_EQ(b.status, statistic_status::ok);
    ASSERT_EQ(h.values.size(), answers[2 * i].size());
    ASSERT_EQ(b.values.size(), answers[2 * i + 1].size());
    for (std::size_t k = 0; k < cases[i].size(); ++k) {
      expect_agrees(h.values[k], answers[2 * i][k], "holm " + std::to_string(k));
      expect_agrees(b.values[k], answers[2 * i + 1][k], "bh " + std::to_string(k));
    }
  }
  EXPECT_EQ(holm({0.1, NAN}).status, statistic_status::invalid_input);
  EXPECT_EQ(benjamini_hochberg({1.5}).status, statistic_status::invalid_input);
  EXPECT_TRUE(benjamini_hochberg({-0.1}).values.empty());
}
