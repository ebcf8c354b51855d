#pragma once

#include "core/statistics.hpp"

namespace expd::core {

// Conversion metrics: each unit's value is 0 or 1, so an arm's moments are
// {units, conversions, conversions}. Moments whose sum_sq differs from sum, or with more
// conversions than units, are invalid_input.

/// One arm's conversion rate.
///   mean       the rate p = conversions / units;
///   variance   p (1 - p), the Bernoulli variance at p (divisor n, not the sample
///              variance's n - 1), so std_error = sqrt(p (1 - p) / n) is the one the
///              Wald interval of two_proportion_test uses; 0 at 0% and 100%;
///   mean_ci    the Wilson score interval (as statsmodels' proportion_confint(method=
///              "wilson")): inside [0, 1], of positive width at 0 of n and n of n.
/// ok for n >= 1: the Wilson interval exists for one unit too (0 of 1 gives [0, 0.79]
/// at 95%), so ok even where the variance is 0; not_enough_data for n == 0 (nothing
/// set); invalid_input for moments that are not conversions or a confidence outside
/// (0, 1).
arm_summary summarize_conversion(const moments& arm, double confidence = 0.95) noexcept;

/// Treatment against control on a conversion rate.
struct proportion_comparison {
  /// ok; zero_variance (the unpooled variance is zero: each arm at 0% or 100%, so only
  /// `difference`, which is then known exactly); not_enough_data (n < 2 in an arm);
  /// invalid_input.
  statistic_status status = statistic_status::invalid_input;
  /// treatment rate - control rate.
  std::optional<double> difference;
  /// Unpooled Wald: difference +- z(confidence) * se,
  /// se = sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c).
  std::optional<interval> difference_ci;
  /// difference / se, the same unpooled se as the interval, so p < alpha exactly when
  /// the interval leaves out 0.
  std::optional<double> z;
  /// Two-sided, from z; fixed horizon, as mean_comparison::p_value.
  std::optional<double> p_value;
};

/// Two-proportion Wald z-test, as statsmodels' test_proportions_2indep(method="wald",
/// compare="diff", correction=False) and confint_proportions_2indep(method="wald")
/// compute it.
proportion_comparison two_proportion_test(const moments& treatment, const moments& control,
                                          double confidence = 0.95) noexcept;

/// Bayesian chance that the treatment rate beats the control rate: P(p_t > p_c) under
/// independent Beta(1 + conversions, 1 + units - conversions) posteriors (uniform
/// priors), computed as the integral of pdf_t(x) * cdf_c(x) by adaptive Gauss-Kronrod
/// quadrature: deterministic, agrees with SciPy's quad to 1e-9 relative, tiny chances
/// included, in a few milliseconds for a million units an arm. not_enough_data when an
/// arm has fewer than two units.
probability conversion_chance_to_beat(const moments& treatment, const moments& control) noexcept;

} // namespace expd::core
