#include "core/proportions.hpp"

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

proportion_comparison two_proportion_test(const moments& treatment, const moments& control,
                                          double confidence) noexcept {
  proportion_comparison out;
  out.status = confidence > 0 && confidence < 1 ? check_conversions(treatment, control)
                                                : statistic_status::invalid_input;
  if (out.status != statistic_status::ok)
    return out;
  auto pt = treatment.sum / treatment.n, pc = control.sum / control.n;
  out.difference = pt - pc;
  auto pooled = (treatment.sum + control.sum) / (treatment.n + control.n);
  auto pooled_var = pooled * (1 - pooled) * (1 / treatment.n + 1 / control.n);
  if (pooled_var == 0) {
    out.status = statistic_status::zero_variance;
    return out;
  }
  out.z = *out.difference / std::sqrt(pooled_var);
  out.p_value = normal_two_sided_p(*out.z);
  auto wald_var = pt * (1 - pt) / treatment.n + pc * (1 - pc) / control.n;
  out.difference_ci = interval::around(*out.difference,
                                       normal_critical(confidence) * std::sqrt(wald_var));
  return out;
}

probability conversion_chance_to_beat(const moments& treatment, const moments& control) noexcept {
  probability out{check_conversions(treatment, control), std::nullopt};
  if (out.status != statistic_status::ok)
    return out;
  auto at = 1 + treatment.sum, bt = 1 + treatment.n - treatment.sum;
  auto ac = 1 + control.sum, bc = 1 + control.n - control.sum;
  // Outside these quantiles the treatment density holds 2e-20 of its mass, so the
  // integrand (cdf_c <= 1) loses at most that; inside, a large posterior is narrow and
  // the quadrature must not step over it.
  constexpr double tail = 1e-20;
  auto lower = beta_quantile(tail, at, bt), upper = beta_upper_quantile(tail, at, bt);
  auto integrand = [&](double x) { return beta_pdf(x, at, bt) * beta_cdf(x, ac, bc); };
  using quadrature = boost::math::quadrature::gauss_kronrod<double, 61>;
  auto value = quadrature::integrate(integrand, lower, upper, 30, 1e-14);
  out.value = std::min(1.0, std::max(0.0, value));
  return out;
}

} // namespace expd::core
