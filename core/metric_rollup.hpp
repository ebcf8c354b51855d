#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/event_type.hpp"
#include "core/metric_aggregate.hpp"
#include "core/rfc3339.hpp"

// The arithmetic of an aggregation pass: metric values of events in, the rows of
// exp.metric_aggregates out (per-unit values by hour, by day and for the experiment so
// far, then moments per variant, metric and bucket). docs/aggregation.md.
namespace expd::core {

/// What a pass aggregates. Variants and metrics are named by their index here; units by
/// any dense number the caller gives each unit id.
struct rollup_plan {
  /// Per variant: events from the start of this instant's hour count in its
  /// experiment-so-far rows (the hour its experiment started; the lowest value: all).
  std::vector<unix_micros> counted_from;
  /// Per metric: how a unit's events become its value.
  std::vector<per_unit_rule> rules;
  /// Hour and day rows are produced for buckets in this window only.
  aggregate_window window;
  /// Per variant (or empty: none anywhere): the covariate series (add_covariate) that
  /// holds its units' CUPED covariate, nullopt for none. Series are numbered from 0.
  std::vector<std::optional<std::uint32_t>> covariate_series;
};

/// One value of one metric of one event, in one of the event's variants.
struct metric_observation {
  std::uint32_t variant = 0;
  std::uint32_t metric = 0;
  std::uint32_t unit = 0;
  unix_micros occurred_at = 0;
  double value = 0;
};

/// Moments of per-unit values of one metric of one variant in one bucket.
struct rollup_row {
  std::uint32_t variant = 0;
  std::uint32_t metric = 0;
  aggregate_granularity granularity = aggregate_granularity::hour;
  unix_micros bucket_start = 0; ///< 0 (1970-01-01) for the experiment so far
  std::uint64_t units_with_events = 0;
  std::uint64_t events = 0;
  double sum = 0, sum_sq = 0, min = 0, max = 0;
  /// CUPED, on experiment-so-far rows of variants with a covariate series: x is each
  /// unit's value of the same metric in the series, 0 when it has none, over the units
  /// the row's n counts (sum and any: those with events and those exposed; mean: those
  /// with events), y its value here (0 for an exposed unit without events).
  std::optional<std::uint64_t> units_x;
  double sum_x = 0, sum_x_sq = 0, sum_xy = 0;
};

/// Accepts observations in any order. Memory holds the observations of the days not
/// yet closed and one small record per (variant, metric, unit) for the cumulative rows,
/// so a caller that reads events day by day closes each day when it is read.
class metric_rollup {
public:
  /// Throws std::invalid_argument past 16,384 variants and covariate series together, or
  /// metrics, and when covariate_series is neither empty nor one per variant.
  explicit metric_rollup(rollup_plan plan);

  /// Throws std::out_of_range for a variant or metric outside the plan or a unit number
  /// past 2^31.
  void add(const metric_observation& o);

  /// A value of a pre-period event for covariate series `o.variant` (the caller sends
  /// only pre-period events); values become per-unit values by the metric's rule. Throws
  /// like add().
  void add_covariate(const metric_observation& o);

  /// Unit `unit` is exposed to `variant` (assigned), for the CUPED sums of sum and any
  /// metrics, where an exposed unit without events counts with y = 0.
  void add_exposure(std::uint32_t variant, std::uint32_t unit);

  /// No more observations will come for days that start before `t`: their hour and day
  /// rows are computed now and their observations released.
  void close_days_before(unix_micros t);

  /// Closes every day and returns all rows: hour and day rows in the order their days
  /// were closed, then the experiment-so-far rows ordered by (variant, metric).
  std::vector<rollup_row> finish();

private:
  // One observation of an open day. Its key packs variant (14 bits), metric (14),
  // unit (31) and hour of the day (5), so one integer sort orders a day for the rollup.
  struct entry {
    std::uint64_t key;
    double value;
  };
  // A unit's events of one metric in one variant: count, sum, non-zero count.
  struct totals {
    std::uint64_t n = 0;
    double s = 0;
    std::uint64_t nz = 0;
  };
  struct unit_totals {
    std::uint64_t key;
    totals t;
  };

  void push(std::uint32_t internal_variant, const metric_observation& o);
  void close_day(unix_micros day, std::vector<entry>& entries);
  void add_covariate_sums(rollup_row& row, std::size_t from, std::size_t to, std::uint32_t series);

  rollup_plan plan_;
  std::map<unix_micros, std::vector<entry>> open_days_;
  std::vector<entry>* last_day_ = nullptr;
  unix_micros last_day_start_ = 0;
  std::uint32_t variants_ = 0;        // real ones; covariate series follow as variants
  std::uint32_t series_ = 0;
  std::vector<unit_totals> cumulative_; // sorted by key
  std::vector<std::uint64_t> exposures_; // variant << 32 | unit
  std::vector<rollup_row> rows_;
};

} // namespace expd::core
