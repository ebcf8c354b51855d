#include "core/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/distributions.hpp"

namespace expd::core {

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

bool valid_confidence(double confidence) noexcept {
  return confidence > 0 && confidence < 1;
}

// Mean and sample variance of an arm with n >= 2.
struct arm_estimate {
  double n, mean, variance;
};

arm_estimate estimate(const moments& m) noexcept {
  return {m.n, m.sum / m.n, squared_deviations(m) / (m.n - 1)};
}

// The checks every two-arm statistic starts with; ok when both arms can be estimated.
statistic_status check_arms(const moments& treatment, const moments& control) noexcept {
  if (!well_formed(treatment) || !well_formed(control))
    return statistic_status::invalid_input;
  if (treatment.n < 2 || control.n < 2)
    return statistic_status::not_enough_data;
  return statistic_status::ok;
}

// The difference of the two means and its variance; zero_variance when that is zero.
struct difference_estimate {
  statistic_status status;
  double difference = 0, variance = 0;
};

difference_estimate estimate_difference(const moments& treatment,
                                        const moments& control) noexcept {
  difference_estimate out{check_arms(treatment, control)};
  if (out.status != statistic_status::ok)
    return out;
  auto t = estimate(treatment), c = estimate(control);
  out.difference = t.mean - c.mean;
  out.variance = t.variance / t.n + c.variance / c.n;
  if (out.variance == 0)
    out.status = statistic_status::zero_variance;
  return out;
}

} // namespace

bool well_formed(const moments& m) noexcept {
  if (!std::isfinite(m.n) || !std::isfinite(m.sum) || !std::isfinite(m.sum_sq))
    return false;
  if (m.n < 0 || m.sum_sq < 0)
    return false;
  // An empty arm has nothing in its sums.
  if (m.n == 0)
    return m.sum == 0 && m.sum_sq == 0;
  // sum_sq - sum^2/n >= 0, give or take the rounding squared_deviations allows for.
  return m.sum * (m.sum / m.n) <= m.sum_sq * (1 + 4 * m.n * eps);
}

double squared_deviations(const moments& m) noexcept {
  // Each sum carries rounding up to about n * eps of its size: below that bound the
  // difference is noise around zero.
  auto ss = m.sum_sq - m.sum * (m.sum / m.n);
  return ss <= 4 * m.n * eps * m.sum_sq ? 0.0 : ss;
}

std::string_view to_string(statistic_status status) noexcept {
  switch (status) {
    case statistic_status::ok:
      return "ok";
    case statistic_status::not_enough_data:
      return "not enough data";
    case statistic_status::zero_variance:
      return "zero variance";
    case statistic_status::control_mean_zero:
      return "control mean is zero";
    case statistic_status::invalid_input:
      return "invalid input";
  }
  return "invalid input";
}

arm_summary summarize(const moments& arm, double confidence) noexcept {
  arm_summary out;
  if (!well_formed(arm) || !valid_confidence(confidence))
    return out;
  if (arm.n < 2) {
    out.status = statistic_status::not_enough_data;
    if (arm.n > 0)
      out.mean = arm.sum / arm.n;
    return out;
  }
  auto e = estimate(arm);
  out.mean = e.mean;
  out.variance = e.variance;
  out.std_error = std::sqrt(e.variance / e.n);
  if (e.variance == 0) {
    out.status = statistic_status::zero_variance;
    return out;
  }
  out.status = statistic_status::ok;
  out.mean_ci = interval::around(e.mean, t_critical(confidence, e.n - 1) * *out.std_error);
  return out;
}

mean_comparison welch_test(const moments& treatment, const moments& control,
                           double confidence) noexcept {
  mean_comparison out;
  out.status = valid_confidence(confidence) ? check_arms(treatment, control)
                                            : statistic_status::invalid_input;
  out.relative_status = out.status;
  if (out.status != statistic_status::ok)
    return out;
  auto t = estimate(treatment), c = estimate(control);
  out.difference = t.mean - c.mean;
  if (c.mean != 0)
    out.relative_lift = *out.difference / c.mean;
  else
    out.relative_status = statistic_status::control_mean_zero;

  auto vt = t.variance / t.n, vc = c.variance / c.n;
  auto var = vt + vc;
  if (var == 0) {
    out.status = statistic_status::zero_variance;
    if (out.relative_status == statistic_status::ok)
      out.relative_status = statistic_status::zero_variance;
    return out;
  }
  auto se = std::sqrt(var);
  // Welch-Satterthwaite; a constant arm adds nothing to either sum.
  auto df = var * var / (vt * vt / (t.n - 1) + vc * vc / (c.n - 1));
  out.t = *out.difference / se;
  out.df = df;
  out.p_value = t_two_sided_p(*out.t, df);
  auto t_quantile = t_critical(confidence, df);
  out.difference_ci = interval::around(*out.difference, t_quantile * se);

  if (out.relative_lift) {
    // Delta method for m_t / m_c: the gradient (1/m_c, -m_t/m_c^2) against the
    // independent variances of the two means.
    auto mc2 = c.mean * c.mean;
    auto rel_se = std::sqrt(vt / mc2 + t.mean * t.mean * vc / (mc2 * mc2));
    // Zero when the treatment is constant at 0: the gradient then ignores the control's
    // spread, and a zero-width interval would be false certainty.
    if (rel_se > 0)
      out.relative_ci = interval::around(*out.relative_lift, t_quantile * rel_se);
    else
      out.relative_status = statistic_status::zero_variance;
  }
  return out;
}

probability chance_to_beat(const moments& treatment, const moments& control) noexcept {
  auto d = estimate_difference(treatment, control);
  probability out{d.status, std::nullopt};
  if (d.status == statistic_status::ok)
    out.value = normal_cdf(d.difference / std::sqrt(d.variance));
  return out;
}

probability msprt_p_value(const moments& treatment, const moments& control, double tau_sq,
                          double previous_p) noexcept {
  if (!std::isfinite(tau_sq) || tau_sq <= 0 || !(previous_p > 0 && previous_p <= 1))
    return {};
  auto d = estimate_difference(treatment, control);
  probability out{d.status, std::nullopt};
  if (d.status != statistic_status::ok)
    return out;
  auto v = d.variance;
  // In logs: Lambda overflows a double once d / sqrt(V) passes about 38.
  auto log_lambda = 0.5 * std::log(v / (v + tau_sq))
                    + tau_sq * d.difference * d.difference / (2 * v * (v + tau_sq));
  out.value = std::min({1.0, previous_p, std::exp(-log_lambda)});
  return out;
}

} // namespace expd::core
