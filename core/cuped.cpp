#include "core/cuped.hpp"

#include <algorithm>
#include <cmath>

namespace expd::core {

namespace {

bool well_formed(const cuped_arm& arm) noexcept {
  return well_formed(arm.y) && well_formed(arm.x) && arm.y.n == arm.x.n
         && std::isfinite(arm.sum_xy);
}

// Centred sum of products of x and y within one arm. Unlike a variance it may be
// negative or zero, so there is nothing to clamp.
double co_deviations(const cuped_arm& a) noexcept {
  return a.sum_xy - a.x.sum * (a.y.sum / a.x.n);
}

} // namespace

cuped_adjustment cuped(const std::vector<cuped_arm>& arms) {
  cuped_adjustment out;
  if (arms.empty()
      || !std::all_of(arms.begin(), arms.end(), [](auto& a) { return well_formed(a); }))
    return out;
  if (std::any_of(arms.begin(), arms.end(), [](auto& a) { return a.y.n < 2; })) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  double n = 0, sum_x = 0, sxx = 0, sxy = 0, syy = 0;
  for (auto& a : arms) {
    n += a.x.n;
    sum_x += a.x.sum;
    sxx += squared_deviations(a.x);
    sxy += co_deviations(a);
    syy += squared_deviations(a.y);
  }
  if (sxx == 0) {
    out.status = statistic_status::zero_variance;
    return out;
  }
  auto theta = sxy / sxx;
  auto mean_x = sum_x / n;
  out.status = statistic_status::ok;
  out.theta = theta;
  if (syy > 0)
    out.variance_reduction = std::min(1.0, sxy * sxy / (sxx * syy));
  for (auto& a : arms) {
    // Centred sums of y' = y - theta x; the shift by theta mean_x moves only the mean.
    auto ss = std::max(0.0, squared_deviations(a.y) - 2 * theta * co_deviations(a)
                              + theta * theta * squared_deviations(a.x));
    auto mean = a.y.sum / a.y.n - theta * (a.x.sum / a.x.n - mean_x);
    out.adjusted.push_back({a.y.n, a.y.n * mean, ss + a.y.n * mean * mean});
  }
  return out;
}

} // namespace expd::core
