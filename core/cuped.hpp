#pragma once

#include <optional>
#include <vector>

#include "core/statistics.hpp"

namespace expd::core {

/// One arm's metric y and pre-period covariate x, over the same units (a unit with no
/// pre-period value counts with x = 0), and the sum of x * y.
struct cuped_arm {
  moments y;
  moments x;
  double sum_xy = 0;
};

/// The arms with y replaced by y - theta (x - mean_x), mean_x the mean of x over all arms.
struct cuped_adjustment {
  /// ok; not_enough_data (an arm has fewer than two units); zero_variance (x is
  /// constant within every arm: nothing to adjust with); invalid_input (x and y over
  /// different numbers of units, malformed moments, no arms).
  statistic_status status = statistic_status::invalid_input;
  /// Pooled within-arm regression slope of y on x:
  /// sum over arms of S_xy / sum over arms of S_xx, S the centred sums of each arm.
  std::optional<double> theta;
  /// Share of the within-arm variance of y the adjustment removes: the squared pooled
  /// within-arm correlation of x and y. Not set when y is constant within every arm.
  std::optional<double> variance_reduction;
  /// The adjusted moments of each arm, in the given order: welch_test runs on them.
  std::vector<moments> adjusted;
};

/// CUPED (Deng, Xu, Kohavi and Walker 2013): variance reduction with a pre-period
/// covariate. theta is estimated within arms and pooled, i.e. the slope of x in the
/// regression y ~ arm + x: a treatment that shifts the mean of y leaves it unchanged,
/// where theta over all units pooled together would pick up that shift. Since x is
/// measured before assignment, its arm means differ only by chance, and the adjusted
/// difference of means stays unbiased with a variance (1 - variance_reduction) times
/// smaller.
cuped_adjustment cuped(const std::vector<cuped_arm>& arms);

} // namespace expd::core
