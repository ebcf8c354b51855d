#pragma once

#include <optional>
#include <vector>

#include "core/statistics.hpp"

namespace expd::core {

/// Sample-ratio-mismatch check: did units reach the variants in the configured split?
struct srm_check {
  /// ok; not_enough_data (no unit exposed yet); invalid_input.
  statistic_status status = statistic_status::invalid_input;
  std::optional<double> chi_square;
  std::optional<double> p_value;
  /// p_value < threshold. Assignment or logging is broken somewhere (a variant that
  /// crashes before logging, a redirect, a bot filter on one arm): every other result
  /// of the experiment is suspect until it is explained.
  bool mismatch = false;
};

/// Pearson's chi-square goodness of fit of the units exposed per variant against the
/// configured allocations, k - 1 degrees of freedom. Allocations are the variants'
/// fractions of traffic; they are normalised by their sum, since buckets past the last
/// variant are not in the experiment and its exposed units are split in proportion.
/// Every allocation must be positive, one per variant, at least two variants. The
/// chi-square approximation wants about five expected units per variant; below that the
/// p-value is rough (and a mismatch rarely flags).
srm_check check_sample_ratio(const std::vector<double>& units,
                             const std::vector<double>& allocations,
                             double threshold = 0.001) noexcept;

} // namespace expd::core
