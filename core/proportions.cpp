#include "core/proportions.hpp"

#include <algorithm>
#include <cmath>

#include <boost/math/quadrature/gauss_kronrod.hpp>

#include "core/distributions.hpp"

namespace expd::core {

namespace {

bool is_conversion(const moments& m) noexcept {
  return well_formed(m) && m.sum >= 0 && m.sum <= m.n && m.sum_sq == m.sum;
}

statistic_status check_conversions(const moments& treatment, const moments& control) noexcept {
  if (!is_conversion(treatment) || !is_conversion(control))
    return statistic_status::invalid_input;
  if (treatment.n < 2 || control.n < 2)
    return statistic_status::not_enough_data;
  return statistic_status::ok;
}

} // namespace

arm_summary summarize_conversion(const moments& arm, double confidence) noexcept {
  arm_summary out;
  if (!is_conversion(arm) || !(confidence > 0 && confidence < 1))
    return out;
  if (arm.n == 0) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  auto n = arm.n, p = arm.sum / n, q = (n - arm.sum) / n;
  out.status = statistic_status::ok;
  out.mean = p;
  out.variance = p * q;
  out.std_error = std::sqrt(p * q / n);
  auto z = normal_critical(confidence), z2 = z * z;
  auto denom = 1 + z2 / n;
  auto half = z * std::sqrt(p * q / n + z2 / (4 * n * n)) / denom;
  // The bounds are the roots of (p - x)^2 = z^2 x (1 - x) / n, whose product is
  // p^2 / denom: the bound near 0 (and, by symmetry, near 1) from it does not cancel,
  // and is exactly 0 at 0 of n (1 at n of n).
  if (p <= 0.5) {
    auto upper = (p + z2 / (2 * n)) / denom + half;
    out.mean_ci = interval{p * p / (denom * upper), std::min(1.0, upper)};
  } else {
    auto upper_q = (q + z2 / (2 * n)) / denom + half;
    out.mean_ci = interval{std::max(0.0, 1 - upper_q), 1 - q * q / (denom * upper_q)};
  }
  return out;
}

proportion_comparison two_proportion_test(const moments& treatment, const moments& control,
                                          double confidence) noexcept {
  proportion_comparison out;
  out.status = confidence > 0 && confidence < 1 ? check_conversions(treatment, control)
                                                : statistic_status::invalid_input;
  if (out.status != statistic_status::ok)
    return out;
  auto pt = treatment.sum / treatment.n, pc = control.sum / control.n;
  out.difference = pt - pc;
  // Unpooled for both z and the interval, so they never disagree about 0.
  auto var = pt * (1 - pt) / treatment.n + pc * (1 - pc) / control.n;
  if (var == 0) {
    out.status = statistic_status::zero_variance;
    return out;
  }
  auto se = std::sqrt(var);
  out.z = *out.difference / se;
  out.p_value = normal_two_sided_p(*out.z);
  out.difference_ci = interval::around(*out.difference, normal_critical(confidence) * se);
  return out;
}

probability conversion_chance_to_beat(const moments& treatment, const moments& control) noexcept {
  probability out{check_conversions(treatment, control), std::nullopt};
  if (out.status != statistic_status::ok)
    return out;
  auto at = 1 + treatment.sum, bt = 1 + treatment.n - treatment.sum;
  auto ac = 1 + control.sum, bc = 1 + control.n - control.sum;
  // The integrand lives where the treatment density does, and a large posterior is so
  // narrow that the quadrature must be told where or it steps over it: so the
  // treatment's central 1 - 2e-20 is integrated first. The tails outside it add at most
  // 2e-20, which matters only to a tiny chance (one arm at 0%, the other at 100%); then
  // they are integrated too, each to its own relative tolerance, but shallowly, since
  // near-zero integrands there keep the error estimate from ever converging.
  constexpr double tail = 1e-20;
  auto lower = beta_quantile(tail, at, bt), upper = beta_upper_quantile(tail, at, bt);
  auto integrand = [&](double x) { return beta_pdf(x, at, bt) * beta_cdf(x, ac, bc); };
  using quadrature = boost::math::quadrature::gauss_kronrod<double, 61>;
  auto value = quadrature::integrate(integrand, lower, upper, 15, 1e-12);
  if (value < 1e-6) {
    if (lower > 0)
      value += quadrature::integrate(integrand, 0.0, lower, 6, 1e-12);
    if (upper < 1)
      value += quadrature::integrate(integrand, upper, 1.0, 6, 1e-12);
  }
  out.value = std::min(1.0, std::max(0.0, value));
  return out;
}

} // namespace expd::core
