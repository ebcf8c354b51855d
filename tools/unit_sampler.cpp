#include "tools/unit_sampler.hpp"

#include <cmath>

namespace expd::tools {

namespace {

// log1p(x) / x and expm1(x) / x, by their series near 0 where the quotient loses digits.
double log1p_over(double x) {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

double expm1_over(double x) {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}

} // namespace

zipf_sampler::zipf_sampler(std::uint64_t n, double s) : n_(n), s_(s) {
  h_integral_x1_ = h_integral(1.5) - 1;
  h_integral_n_ = h_integral(static_cast<double>(n) + 0.5);
  squeeze_ = 2 - h_integral_inverse(h_integral(2.5) - h(2));
}

double zipf_sampler::h(double x) const {
  return std::exp(-s_ * std::log(x));
}

// The integral of h from 1 to x, shifted so that s = 1 needs no case of its own.
double zipf_sampler::h_integral(double x) const {
  double log_x = std::log(x);
  return expm1_over((1 - s_) * log_x) * log_x;
}

double zipf_sampler::h_integral_inverse(double x) const {
  double t = x * (1 - s_);
  if (t < -1)
    t = -1; // only rounding gets here
  return std::exp(log1p_over(t) * x);
}

std::uint64_t zipf_sampler::operator()(std::mt19937_64& rng) const {
  for (;;) {
    double u = h_integral_n_ + unit_interval(rng) * (h_integral_x1_ - h_integral_n_);
    double x = h_integral_inverse(u);
    double rounded = std::floor(x + 0.5);
    std::uint64_t k = rounded < 1 ? 1 : rounded > static_cast<double>(n_) ? n_ : static_cast<std::uint64_t>(rounded);
    double kd = static_cast<double>(k);
    if (kd - x <= squeeze_ || u >= h_integral(kd + 0.5) - h(kd))
      return k;
  }
}

} // namespace expd::tools
