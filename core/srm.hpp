#pragma once

#include <optional>
#include <vector>

#include "core/statistics.hpp"

namespace expd::core {

/// Sample-ratio-mismatch check: did units reach the variants in the configured split?
struct srm_check {
  /// ok; not_enough_data (fewer than two variants with a positive allocation, or no
  /// unit exposed in those); invalid_input.
  statistic_status status = statistic_status::invalid_input;
  std::optional<double> chi_square;
  std::optional<double> p_value;
  /// p_value < threshold. Assignment or logging is broken somewhere (a variant that
  /// crashes before logging, a redirect, a bot filter on one arm): every other result
  /// of the experiment is suspect until it is explained.
  bool mismatch = false;
  /// Per variant, whether it took part (its allocation is positive), and the units it
  /// should have had: its share of the checked variants' units (0 when left out). One
  /// per variant unless the status is invalid_input, then empty.
  std::vector<bool> checked;
  std::vector<double> expected;
};

/// Pearson's chi-square goodness of fit of the units exposed per variant against the
/// configured allocations, k - 1 degrees of freedom over the k variants with a positive
/// allocation. A variant at allocation 0 (retired, or held out) is left out, its units
/// and its allocation both: no split is configured for it to deviate from. The rest are
/// normalised by their sum, since buckets past the last variant are not in the
/// experiment and its exposed units are split in proportion. invalid_input for lists of
/// different lengths, negative or non-finite units or allocations, a threshold outside
/// (0, 1). The chi-square approximation wants about five expected units per variant;
/// below that the p-value is rough (and a mismatch rarely flags).
srm_check check_sample_ratio(const std::vector<double>& units,
                             const std::vector<double>& allocations,
                             double threshold = 0.001) noexcept;

} // namespace expd::core
