#include "core/srm.hpp"

#include <cmath>

#include "core/distributions.hpp"

namespace expd::core {

srm_check check_sample_ratio(const std::vector<double>& units,
                             const std::vector<double>& allocations,
                             double threshold) noexcept {
  srm_check out;
  auto k = units.size();
  if (allocations.size() != k || !(threshold > 0 && threshold < 1))
    return out;
  for (std::size_t i = 0; i < k; ++i)
    if (!std::isfinite(units[i]) || units[i] < 0 || !std::isfinite(allocations[i])
        || allocations[i] < 0)
      return out;
  double total = 0, allocated = 0;
  std::size_t checked = 0;
  out.checked.resize(k);
  for (std::size_t i = 0; i < k; ++i) {
    if (allocations[i] == 0)
      continue;
    out.checked[i] = true;
    ++checked;
    total += units[i];
    allocated += allocations[i];
  }
  out.expected.resize(k);
  for (std::size_t i = 0; i < k; ++i)
    if (out.checked[i])
      out.expected[i] = total * (allocations[i] / allocated);
  if (checked < 2 || total == 0) {
    out.status = statistic_status::not_enough_data;
    return out;
  }
  double chi_square = 0;
  for (std::size_t i = 0; i < k; ++i) {
    if (!out.checked[i])
      continue;
    auto deviation = units[i] - out.expected[i];
    chi_square += deviation * deviation / out.expected[i];
  }
  out.status = statistic_status::ok;
  out.chi_square = chi_square;
  out.p_value = chi_square_upper_tail(chi_square, static_cast<double>(checked - 1));
  out.mismatch = *out.p_value < threshold;
  return out;
}

} // namespace expd::core
