#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event_type.hpp"
#include "core/metric_roles.hpp"
#include "core/rfc3339.hpp"
#include "core/uuid.hpp"

// What the aggregator stores in exp.metric_aggregates and exp.exposure_aggregates, as
// plain values for the results endpoint and trend charts (docs/aggregation.md).
namespace expd::core {

/// The buckets of exp.metric_aggregates: an UTC hour, an UTC day, or the experiment so
/// far (cumulative from its start; what results read).
enum class aggregate_granularity { hour, day, experiment };

/// "hour", "day", "experiment".
std::string_view to_string(aggregate_granularity g) noexcept;

/// "hour", "day", "experiment"; nullopt for anything else.
std::optional<aggregate_granularity> parse_aggregate_granularity(std::string_view text) noexcept;

/// Sufficient statistics of one metric of one variant in one bucket, over per-unit
/// values (core::per_unit_rule), never over raw events.
struct metric_moments {
  std::string event_type;
  std::string metric_name;
  per_unit_rule rule = per_unit_rule::sum;
  /// n: for sum and any, the units exposed to the variant (a unit without events is a
  /// 0); for mean, the units with at least one event.
  std::uint64_t units = 0;
  std::uint64_t units_with_events = 0;
  std::uint64_t events = 0;   ///< events that carried the metric
  double sum = 0;             ///< of per-unit values
  double sum_sq = 0;          ///< of squared per-unit values
  std::optional<double> min;  ///< of per-unit values of units with events
  std::optional<double> max;
  /// CUPED covariate: the same metric per unit in the pre-period (NULL until an
  /// experiment configures one; docs/aggregation.md).
  std::optional<std::uint64_t> units_x;
  std::optional<double> sum_x, sum_x_sq, sum_xy;

  /// sum / units; nullopt when units is 0.
  std::optional<double> mean() const noexcept;
};

/// One variant's exposures and the 'experiment'-granularity moments of every metric.
struct variant_aggregates {
  uuid variant_id;
  std::string variant_name;
  double allocation = 0;
  std::uint64_t exposures = 0; ///< units assigned (rows of exp.assignments)
  /// Events that credit this variant for units assigned another, left out of metrics.
  std::uint64_t unheld_events = 0;
  std::vector<metric_moments> metrics; ///< sorted by (event_type, metric_name)
};

/// What results read for one experiment: no scan of events or assignments.
struct experiment_aggregates {
  uuid experiment_id;
  std::string experiment_name;
  bool draft = false; ///< its status: shown only to who may read drafts
  std::optional<unix_micros> computed_at; ///< oldest computed_at of the rows; nullopt: never aggregated
  std::optional<unix_micros> started_at;  ///< when it first ran; nullopt: never started
  std::vector<variant_aggregates> variants; ///< in the experiment's variant order
  /// The experiment's `metrics:` block; empty: every metric is a goal.
  experiment_metrics roles;
  /// The metrics whose event type declares `better: lower`; the rest are higher.
  std::vector<metric_ref> lower_is_better;
};

/// One point of a trend series (hour or day rows).
struct aggregate_point {
  uuid variant_id;
  std::string event_type;
  std::string metric_name;
  unix_micros bucket_start = 0;
  metric_moments moments;
  std::uint64_t exposures_cumulative = 0; ///< units assigned before the bucket's end
};

/// A recompute window: [from, to).
struct aggregate_window {
  unix_micros from = 0;
  unix_micros to = 0;
};

/// The longest window POST /admin/v1/aggregate takes (400 days).
inline constexpr unix_micros max_aggregate_window = 400LL * 86400 * 1000000;

/// Reads the body of POST /admin/v1/aggregate: `{"from":"RFC3339","to":"RFC3339"}`,
/// both required, from < to, at most max_aggregate_window apart, nothing else. Throws
/// core::field_error naming the field ("from", "to", "body", or the unknown key).
aggregate_window parse_aggregate_request(std::string_view body);

/// Widens a window to whole UTC days: [start of from's day, start of the day after the
/// last instant before to). Hour and day buckets are always recomputed whole.
aggregate_window whole_days(aggregate_window w) noexcept;

/// The start of the UTC hour / day holding `t`.
unix_micros hour_start(unix_micros t) noexcept;
unix_micros day_start(unix_micros t) noexcept;

/// One unit's value of a metric from its events: `events` values whose total is `sum`
/// and of which `nonzero` were true or non-zero. nullopt for mean with no events.
std::optional<double> unit_value(per_unit_rule rule, std::uint64_t events, double sum,
                                 std::uint64_t nonzero) noexcept;

} // namespace expd::core
