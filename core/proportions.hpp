#pragma once

#include "core/statistics.hpp"

namespace expd::core {

// Conversion metrics: each unit's value is 0 or 1, so an arm's moments are
// {units, conversions, conversions}. Moments whose sum_sq differs from sum, or with more
// conversions than units, are invalid_input.

/// Treatment against control on a conversion rate.
struct proportion_comparison {
  /// ok; zero_variance (no unit converted, or every unit did, in both arms: only
  /// `difference`); not_enough_data (n < 2 in an arm); invalid_input.
  statistic_status status = statistic_status::invalid_input;
  /// treatment rate - control rate.
  std::optional<double> difference;
  /// Unpooled Wald: difference +- z * sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c);
  /// of zero width when each arm is at 0% or 100%.
  std::optional<interval> difference_ci;
  /// difference / sqrt(p (1 - p) (1/n_t + 1/n_c)), p the pooled rate.
  std::optional<double> z;
  /// Two-sided, from the pooled z; fixed horizon, as mean_comparison::p_value.
  std::optional<double> p_value;
};

/// Two-proportion z-test, as statsmodels' proportions_ztest (pooled) and
/// confint_proportions_2indep(method="wald") compute it.
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
