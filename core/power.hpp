#pragma once

#include <optional>
#include <vector>

#include "core/statistics.hpp"

namespace expd::core {

// Power and sample size for a two-sided test of treatment against control at level
// `alpha`, by the normal approximation. "Power" here is the chance that the test is
// significant *in the direction of the effect*: with a = effect / se,
//   power = Phi(a - z(1 - alpha/2)),   so   a = z(1 - alpha/2) + z(power).
// This leaves out the chance Phi(-a - z(1 - alpha/2)) of a significant result of the
// wrong sign, which statsmodels' two-sided NormalIndPower counts as power too (about
// 1e-6 at alpha 0.05, power 0.8); a result of the wrong sign does not detect the effect.
// It is statsmodels' one-sided power at alpha/2 (alternative="larger"). So `power` must
// lie in (alpha/2, 1): at power alpha/2 the effect needs no units at all. Inputs:
// alpha in (0, 1), relative_mde > 0 and finite (0.05: 5% of the control's mean), ratio
// > 0 and finite; anything else, and moments that are not well_formed, is invalid_input.

/// Units per arm an experiment needs.
struct sample_size {
  /// ok; not_enough_data (the control has fewer than two units); zero_variance (mean
  /// metric: the control is constant, so its variance says nothing); control_mean_zero
  /// (the control's mean, or rate, is 0: an effect relative to it is 0); invalid_input
  /// (see above; also a conversion rate p (1 + relative_mde) of 1 or more, or a size too
  /// large for a double).
  statistic_status status = statistic_status::invalid_input;
  /// Units the control arm needs, and the treatment arm (ratio * control_units). Not
  /// rounded: round up for whole units.
  std::optional<double> control_units;
  std::optional<double> treatment_units;
  /// The absolute effect the sizes detect, in metric units: relative_mde * |control
  /// mean|, or p' - p for a conversion rate.
  std::optional<double> absolute_effect;
};

/// Units per arm to detect a change of relative_mde * |mean_c| in a mean metric, from
/// the control's mean and sample variance s_c^2 (a common variance for both arms):
///   n_c = (z(1 - alpha/2) + z(power))^2 * s_c^2 * (1 + 1/ratio) / delta^2,
///   n_t = ratio * n_c.
/// `ratio` is treatment units per control unit (n_t / n_c). This is statsmodels'
/// NormalIndPower().solve_power(effect_size=delta / s_c, alpha=alpha/2, power, ratio,
/// alternative="larger"): its nobs1 is the control arm, its ratio nobs2 / nobs1.
sample_size sample_size_for_mean(const moments& control, double relative_mde,
                                 double alpha = 0.05, double power = 0.8,
                                 double ratio = 1) noexcept;

/// As sample_size_for_mean for a conversion metric (control moments {units,
/// conversions, conversions}, control rate p = conversions / units), to detect the rate
/// p' = p (1 + relative_mde), with the unpooled variance under the alternative (the
/// variance two_proportion_test's Wald test uses):
///   n_c = (z(1 - alpha/2) + z(power))^2 * (p (1 - p) + p' (1 - p') / ratio) / (p' - p)^2.
/// invalid_input when p' >= 1 (the effect cannot happen), control_mean_zero when p = 0.
sample_size sample_size_for_conversion(const moments& control, double relative_mde,
                                       double alpha = 0.05, double power = 0.8,
                                       double ratio = 1) noexcept;

/// The smallest effect the data so far detect with `power`.
struct detectable_effect {
  /// ok; not_enough_data (an arm has fewer than two units); zero_variance (both arms
  /// constant: nothing set); control_mean_zero (the control mean is 0: `absolute` is set,
  /// `relative` is not); invalid_input.
  statistic_status status = statistic_status::invalid_input;
  /// (z(1 - alpha/2) + z(power)) * sqrt(s_t^2 / n_t + s_c^2 / n_c), in metric units, with
  /// each arm's sample variance as it stands (for a conversion metric too).
  std::optional<double> absolute;
  /// absolute / |mean_c|.
  std::optional<double> relative;
};

/// Minimum detectable effect at the arms' current sizes and variances: the effect at
/// which the two-sided Welch (normal) test at `alpha` is significant in the effect's
/// direction with probability `power`.
detectable_effect minimum_detectable_effect(const moments& treatment, const moments& control,
                                            double alpha = 0.05, double power = 0.8) noexcept;

/// One arm on its way to its sample size.
struct arm_progress {
  /// Units the arm needs (a sample_size's control_units or treatment_units).
  double needed = 0;
  /// Units it has now.
  double have = 0;
  /// New units a day lately, as the caller measures it.
  double per_day = 0;
};

/// Days until every arm has what it needs.
struct days_estimate {
  /// ok; not_enough_data (an arm still needs units and gains none, or so few that the
  /// days overflow: no estimate); invalid_input (no arm, or a negative or non-finite
  /// number).
  statistic_status status = statistic_status::invalid_input;
  /// max over the arms of max(0, needed - have) / per_day; 0 when every arm has its
  /// units. Not rounded.
  std::optional<double> days;
};

days_estimate days_left(const std::vector<arm_progress>& arms) noexcept;

} // namespace expd::core
