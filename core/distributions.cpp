#include "core/distributions.hpp"

#include <algorithm>
#include <cmath>

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

namespace expd::core {

namespace {

namespace bp = boost::math::policies;

// Errors become NaN / infinity (and errno) rather than exceptions: the statistics are
// noexcept and validate their inputs before they get here.
using quiet = bp::policy<bp::domain_error<bp::errno_on_error>,
                         bp::pole_error<bp::errno_on_error>,
                         bp::overflow_error<bp::errno_on_error>,
                         bp::evaluation_error<bp::errno_on_error>,
                         bp::rounding_error<bp::errno_on_error>>;

using students_t = boost::math::students_t_distribution<double, quiet>;
using normal = boost::math::normal_distribution<double, quiet>;
using chi_squared = boost::math::chi_squared_distribution<double, quiet>;
using beta = boost::math::beta_distribution<double, quiet>;

} // namespace

double t_two_sided_p(double t, double df) noexcept {
  return std::min(1.0, 2 * boost::math::cdf(boost::math::complement(students_t(df), std::abs(t))));
}

double t_critical(double confidence, double df) noexcept {
  return boost::math::quantile(boost::math::complement(students_t(df), (1 - confidence) / 2));
}

double normal_quantile(double p) noexcept {
  return boost::math::quantile(normal(), p);
}

double normal_upper_quantile(double tail) noexcept {
  return boost::math::quantile(boost::math::complement(normal(), tail));
}

double normal_cdf(double z) noexcept {
  return boost::math::cdf(normal(), z);
}

double normal_two_sided_p(double z) noexcept {
  return std::min(1.0, 2 * boost::math::cdf(boost::math::complement(normal(), std::abs(z))));
}

double normal_critical(double confidence) noexcept {
  return boost::math::quantile(boost::math::complement(normal(), (1 - confidence) / 2));
}

double chi_square_upper_tail(double x, double df) noexcept {
  return boost::math::cdf(boost::math::complement(chi_squared(df), x));
}

double beta_pdf(double x, double a, double b) noexcept {
  return boost::math::pdf(beta(a, b), x);
}

double beta_cdf(double x, double a, double b) noexcept {
  return boost::math::cdf(beta(a, b), x);
}

double beta_quantile(double p, double a, double b) noexcept {
  return boost::math::quantile(beta(a, b), p);
}

double beta_upper_quantile(double tail, double a, double b) noexcept {
  return boost::math::quantile(boost::math::complement(beta(a, b), tail));
}

} // namespace expd::core
