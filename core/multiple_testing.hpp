#pragma once

#include <vector>

#include "core/statistics.hpp"

namespace expd::core {

/// p-values adjusted for testing many metrics at once, in the order they were given.
struct adjusted_p_values {
  /// ok, or invalid_input when a p-value is not in [0, 1] (then `values` is empty).
  statistic_status status = statistic_status::invalid_input;
  std::vector<double> values;
};

/// Holm's step-down adjustment: controls the family-wise error rate (the chance of any
/// false positive). With p sorted ascending, adjusted_(i) = max over j <= i of
/// min(1, (m - j + 1) p_(j)).
adjusted_p_values holm(const std::vector<double>& p_values);

/// Benjamini-Hochberg: controls the false discovery rate (the expected share of false
/// positives among the metrics called significant). With p sorted ascending,
/// adjusted_(i) = min over j >= i of min(1, m p_(j) / j).
adjusted_p_values benjamini_hochberg(const std::vector<double>& p_values);

} // namespace expd::core
