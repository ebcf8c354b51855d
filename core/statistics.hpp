#pragma once

#include <optional>
#include <string_view>

namespace expd::core {

/// Sufficient statistics of one metric over the units of one arm: `n` units, the sum and
/// the sum of squares of each unit's value (per unit, not per event). Results are
/// computed from stored aggregates, never from raw events. For a conversion metric the
/// value is 0 or 1, so `sum` is the number of converted units and `sum_sq == sum`.
struct moments {
  double n = 0;
  double sum = 0;
  double sum_sq = 0;
};

/// Finite, n >= 0, sum_sq >= 0, and sum^2 <= n * sum_sq (Cauchy-Schwarz, with the room
/// for rounding that squared_deviations allows): moments some set of real values can
/// have.
bool well_formed(const moments& m) noexcept;

/// Sum of squared deviations from the mean, sum_sq - sum^2 / n (n > 0). Computed from
/// the moments it cancels catastrophically when the mean is large against the spread:
/// its relative error is about n * eps * mean^2 / variance for sums accumulated in
/// double. A value below 4 * n * eps * sum_sq (the rounding bound of the sums
/// themselves) cannot be told from zero and is zero; so is a small negative one.
double squared_deviations(const moments& m) noexcept;

/// Why a statistic is or is not there. Every result carries one; its optional fields
/// are set exactly when they are defined, and are never NaN.
enum class statistic_status {
  ok,
  /// An arm has fewer than two units: no variance, no interval, no test.
  not_enough_data,
  /// The variance the test divides by is zero (every value equal): point estimates are
  /// there, intervals and p-values are not.
  zero_variance,
  /// The control mean is zero, so a lift relative to it is not defined.
  control_mean_zero,
  /// Inputs that no data can produce: negative or non-finite counts, more conversions
  /// than units, a confidence level outside (0, 1), mismatched lists.
  invalid_input,
};

/// "ok", "not enough data", "zero variance", "control mean is zero", "invalid input".
std::string_view to_string(statistic_status status) noexcept;

struct interval {
  double lower = 0;
  double upper = 0;

  /// center +- half_width.
  static interval around(double center, double half_width) noexcept {
    return {center - half_width, center + half_width};
  }
};

/// One arm on its own.
struct arm_summary {
  /// ok; zero_variance (every value equal: mean, variance 0 and std_error 0, no
  /// interval, since a t interval of zero width would claim certainty the sample
  /// cannot give); not_enough_data (n < 2: only the mean when n == 1); invalid_input.
  /// summarize_conversion (proportions.hpp) fills it differently: see there.
  statistic_status status = statistic_status::invalid_input;
  std::optional<double> mean;
  /// Sample variance (divisor n - 1).
  std::optional<double> variance;
  /// sqrt(variance / n).
  std::optional<double> std_error;
  /// mean +- t(confidence, n - 1) * std_error; only when the variance is positive.
  std::optional<interval> mean_ci;
};

/// Mean, variance (squared_deviations / (n - 1): see there for its precision), standard
/// error and t interval of one arm.
arm_summary summarize(const moments& arm, double confidence = 0.95) noexcept;

/// Treatment against control on the mean of a metric.
struct mean_comparison {
  /// Of the absolute difference: ok; zero_variance (both arms constant: only
  /// `difference`); not_enough_data (n < 2 in an arm); invalid_input.
  statistic_status status = statistic_status::invalid_input;
  /// treatment mean - control mean.
  std::optional<double> difference;
  std::optional<interval> difference_ci;
  /// Welch's t statistic and its Welch-Satterthwaite degrees of freedom.
  std::optional<double> t;
  std::optional<double> df;
  /// Two-sided, valid once, at a horizon fixed in advance. Looking at it repeatedly
  /// and stopping when it is small inflates false positives: use msprt_p_value then.
  std::optional<double> p_value;

  /// Of the relative lift: as `status`, or control_mean_zero, or zero_variance when its
  /// delta-method se is zero (a treatment constant at 0).
  statistic_status relative_status = statistic_status::invalid_input;
  /// difference / control mean.
  std::optional<double> relative_lift;
  /// Delta method with the t quantile on the Welch-Satterthwaite `df` of the absolute
  /// interval, so both intervals widen alike for small arms: relative_lift +-
  /// t(confidence, df) * sqrt(var_t / (n_t m_c^2) + m_t^2 var_c / (n_c m_c^4)).
  std::optional<interval> relative_ci;
};

/// Welch's unequal-variance t-test of treatment against control, with the interval of
/// the difference on Welch-Satterthwaite degrees of freedom and the relative lift.
mean_comparison welch_test(const moments& treatment, const moments& control,
                           double confidence = 0.95) noexcept;

/// A probability with the status that says whether it is there.
struct probability {
  statistic_status status = statistic_status::invalid_input;
  std::optional<double> value;
};

/// Bayesian chance that the treatment mean beats (exceeds) the control mean, by the
/// normal approximation Phi(difference / se), se^2 = var_t / n_t + var_c / n_c (flat
/// prior, large samples). zero_variance when se is zero.
probability chance_to_beat(const moments& treatment, const moments& control) noexcept;

/// Always-valid p-value of "the means are equal" by the mixture sequential probability
/// ratio test (mSPRT, Johari, Pekelis and Walsh 2017) with a normal mixture N(0, tau_sq)
/// over the difference: with d the difference of means and V = var_t/n_t + var_c/n_c,
///   Lambda = sqrt(V / (V + tau_sq)) * exp(tau_sq * d^2 / (2 V (V + tau_sq))),
///   p = min(previous_p, 1 / Lambda, 1).
/// Use it when results are looked at while the experiment runs (peeking): stopping the
/// first time p < alpha keeps the false-positive rate at alpha. `previous_p` is the
/// value at the last look (the p-value is a running minimum); aggregates hold only the
/// present, so the caller keeps it. `tau_sq` is in squared metric units, roughly the
/// square of the effect one expects. The variances are the samples', plugged in.
probability msprt_p_value(const moments& treatment, const moments& control, double tau_sq,
                          double previous_p = 1.0) noexcept;

} // namespace expd::core
