#include "core/power.hpp"

#include <algorithm>
#include <cmath>

#include "core/distributions.hpp"

namespace expd::core {

namespace {

bool valid_levels(double alpha, double power) noexcept {
  return alpha > 0 && alpha < 1 && power > alpha / 2 && power < 1;
}

bool valid_effect(double relative_mde, double ratio) noexcept {
  return std::isfinite(relative_mde) && relative_mde > 0 && std::isfinite(ratio) && ratio > 0;
}

// z(1 - alpha/2) + z(power), positive for power > alpha/2. The upper quantile takes
// alpha/2 itself, so a small alpha keeps its precision.
double z_sum(double alpha, double power) noexcept {
  return normal_upper_quantile(alpha / 2) + normal_quantile(power);
}

// n_c = (z sd / delta)^2 (1 + 1/ratio), squared after the division so that a small delta
// does not underflow; invalid_input when it overflows.
sample_size sizes(double z, double sd, double delta, double variance_factor,
                  double ratio) noexcept {
  sample_size out;
  auto units = z * sd / delta;
  auto control_units = units * units * variance_factor;
  auto treatment_units = ratio * control_units;
  if (!std::isfinite(control_units) || !std::isfinite(treatment_units))
    return out;
  out.status = statistic_status::ok;
  out.control_units = control_units;
  out.treatment_units = treatment_units;
  out.absolute_effect = delta;
  return out;
}

} // namespace

sample_size sample_size_for_mean(const moments& control, double relative_mde, double alpha,
                                 double power, double ratio) noexcept {
  sample_size out;
  if (!well_formed(control) || !valid_levels(alpha, power) || !valid_effect(relative_mde, ratio))
    return out;
  if (control.n < 2) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  auto mean = control.sum / control.n;
  auto variance = squared_deviations(control) / (control.n - 1);
  if (variance == 0) {
    out.status = statistic_status::zero_variance;
    return out;
  }
  if (mean == 0) {
    out.status = statistic_status::control_mean_zero;
    return out;
  }
  auto delta = relative_mde * std::abs(mean);
  return sizes(z_sum(alpha, power), std::sqrt(variance), delta, 1 + 1 / ratio, ratio);
}

sample_size sample_size_for_conversion(const moments& control, double relative_mde,
                                       double alpha, double power, double ratio) noexcept {
  sample_size out;
  auto conversion = well_formed(control) && control.sum >= 0 && control.sum <= control.n
                    && control.sum_sq == control.sum;
  if (!conversion || !valid_levels(alpha, power) || !valid_effect(relative_mde, ratio))
    return out;
  if (control.n < 2) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  auto p = control.sum / control.n, q = (control.n - control.sum) / control.n;
  if (p == 0) {
    out.status = statistic_status::control_mean_zero;
    return out;
  }
  // p' - p as p * relative_mde: no cancellation for a small effect.
  auto delta = p * relative_mde;
  auto p_alt = p + delta;
  if (!(p_alt < 1))
    return out;
  auto variance = p * q + p_alt * (1 - p_alt) / ratio;
  // sizes() multiplies by its factor: the variance goes in as sd = 1, factor = variance.
  return sizes(z_sum(alpha, power), 1.0, delta, variance, ratio);
}

detectable_effect minimum_detectable_effect(const moments& treatment, const moments& control,
                                            double alpha, double power) noexcept {
  detectable_effect out;
  if (!well_formed(treatment) || !well_formed(control) || !valid_levels(alpha, power))
    return out;
  if (treatment.n < 2 || control.n < 2) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  auto var_t = squared_deviations(treatment) / (treatment.n - 1);
  auto var_c = squared_deviations(control) / (control.n - 1);
  auto variance = var_t / treatment.n + var_c / control.n;
  if (variance == 0) {
    out.status = statistic_status::zero_variance;
    return out;
  }
  out.absolute = z_sum(alpha, power) * std::sqrt(variance);
  auto mean_c = control.sum / control.n;
  auto relative = mean_c == 0 ? 0.0 : *out.absolute / std::abs(mean_c);
  // A control mean so near zero that the ratio overflows is zero for this purpose.
  if (mean_c == 0 || !std::isfinite(relative)) {
    out.status = statistic_status::control_mean_zero;
    return out;
  }
  out.status = statistic_status::ok;
  out.relative = relative;
  return out;
}

days_estimate days_left(const std::vector<arm_progress>& arms) noexcept {
  days_estimate out;
  if (arms.empty())
    return out;
  for (auto& arm : arms) {
    for (auto value : {arm.needed, arm.have, arm.per_day})
      if (!std::isfinite(value) || value < 0)
        return out;
  }
  double days = 0;
  for (auto& arm : arms) {
    auto remaining = std::max(0.0, arm.needed - arm.have);
    if (remaining == 0)
      continue;
    auto arm_days = arm.per_day > 0 ? remaining / arm.per_day : INFINITY;
    days = std::max(days, arm_days);
  }
  if (!std::isfinite(days)) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  out.status = statistic_status::ok;
  out.days = days;
  return out;
}

} // namespace expd::core
