#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metric_aggregate.hpp"

// The results document of GET /v1/experiments/{id}/results and the trend series of
// GET /v1/experiments/{id}/series: stored aggregates in, JSON out (docs/api.md). Every
// statistic comes from core/statistics.hpp and its siblings; this file only picks which
// one applies and writes it down.
namespace expd::core {

/// How p-values of many metrics x variants are adjusted together.
enum class correction_method { holm, benjamini_hochberg };

/// "holm", "bh".
std::string_view to_string(correction_method m) noexcept;

struct results_options {
  /// Of every interval; 1 - confidence is the significance level.
  double confidence = 0.95;
  /// The control's variant name or id; unset: the variant named "control", else the
  /// first.
  std::optional<std::string> control;
  correction_method correction = correction_method::holm;
  /// mSPRT mixture variance in squared metric units, for every metric. Unset: per
  /// metric, the square of 10% of the control mean ((0.1 m_c)^2: an effect of a tenth
  /// is what the test is tuned to find), or the control variance when its mean is 0.
  std::optional<double> msprt_tau_sq;
  /// SRM is flagged when its p-value is below this.
  double srm_threshold = 0.001;
  /// The relative effect the power block sizes the experiment for (0.05: 5% of the
  /// control mean), and the power it wants.
  double target_effect = 0.05;
  double power = 0.8;
};

/// Reads the query string of GET /v1/experiments/{id}/results: confidence (0.5 to
/// 0.999), control (name or id), correction (holm|bh), tau_sq (> 0), effect (the
/// power block's target relative effect, 0.001 to 10), power (0.5 to 0.999). Throws
/// field_error naming the parameter.
results_options parse_results_query(std::string_view query_string);

/// The results document. Throws field_error("control") when options.control names no
/// variant. A number that is not defined is written as its status text ("not enough
/// data", "zero variance", ...), never null or NaN.
nlohmann::json experiment_results(const experiment_aggregates& aggregates,
                                  const results_options& options = {});

/// One line of the experiment list: id, name, status (the experiment's) and why it last
/// changed, exposures per variant and in all, when aggregated, and the SRM check.
nlohmann::json experiment_overview(const experiment_aggregates& aggregates,
                                   std::string_view experiment_status,
                                   std::string_view status_reason = "");

/// What GET /v1/experiments/{id}/series asks for.
struct series_request {
  aggregate_granularity granularity = aggregate_granularity::day;
  aggregate_window window;
  double confidence = 0.95;
};

/// The longest series windows: 31 days of hours, 400 days of days.
inline constexpr unix_micros max_hourly_series = 31LL * 86400 * 1000000;
inline constexpr unix_micros max_daily_series = 400LL * 86400 * 1000000;

/// Reads granularity (hour|day, default day), from and to (RFC 3339; default the last
/// 2 days of hours or 30 days of days up to `now`), confidence. from < to, at most
/// max_hourly_series / max_daily_series apart. Throws field_error naming the parameter.
series_request parse_series_query(std::string_view query_string, unix_micros now);

/// The series document: one line per variant x metric with a point per bucket (mean and
/// its interval over the bucket's units, units, events, cumulative exposures).
nlohmann::json experiment_series(const experiment_aggregates& aggregates,
                                 const series_request& request,
                                 const std::vector<aggregate_point>& points);

} // namespace expd::core
