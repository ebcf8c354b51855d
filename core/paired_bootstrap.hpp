#pragma once

#include <cstdint>
#include <vector>

// The paired bootstrap of a mean difference (Efron and Tibshirani, ch. 13, percentile
// interval): offline replay scores candidate and baseline on the same rows, so rows are
// resampled together and the interval reflects the pairing (docs/statistics.md).
namespace expd::core {

struct bootstrap_interval {
  double estimate = 0; ///< mean(candidate - baseline) over the rows
  double low = 0;      ///< the (1 - confidence) / 2 percentile of the resampled means
  double high = 0;     ///< the (1 + confidence) / 2 percentile
};

/// `candidate[i]` and `baseline[i]` are row i's scores. Percentiles interpolate
/// linearly between order statistics, as numpy.percentile does. The resamples come from
/// std::mt19937_64(seed) by modulo, so an interval is the same on every machine.
/// Throws std::invalid_argument for lengths that differ, no rows, no resamples or a
/// confidence outside (0, 1).
bootstrap_interval paired_bootstrap(const std::vector<double>& candidate, const std::vector<double>& baseline,
                                    std::uint32_t resamples, double confidence, std::uint64_t seed);

} // namespace expd::core
