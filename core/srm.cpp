#include "core/srm.hpp"

#include <cmath>

#include "core/distributions.hpp"

namespace expd::core {

srm_check check_sample_ratio(const std::vector<double>& units,
                             const std::vector<double>& allocations,
                             double threshold) noexcept {
  srm_check out;
  auto k = units.size();
  if (k < 2 || allocations.size() != k || !(threshold > 0 && threshold < 1))
    return out;
  double total = 0, allocated = 0;
  for (std::size_t i = 0; i < k; ++i) {
    if (!std::isfinite(units[i]) || units[i] < 0 || !std::isfinite(allocations[i])
        || allocations[i] <= 0)
      return out;
    total += units[i];
    allocated += allocations[i];
  }
  if (total == 0) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  double chi_square = 0;
  for (std::size_t i = 0; i < k; ++i) {
    auto expected = total * (allocations[i] / allocated);
    auto deviation = units[i] - expected;
    chi_square += deviation * deviation / expected;
  }
  out.status = statistic_status::ok;
  out.chi_square = chi_square;
  out.p_value = chi_square_upper_tail(chi_square, static_cast<double>(k - 1));
  out.mismatch = *out.p_value < threshold;
  return out;
}

} // namespace expd::core
