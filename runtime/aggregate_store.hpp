#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/metric_aggregate.hpp"
#include "core/stopping_rules.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

struct aggregate_store_config {
  /// Events are accepted at most this old (--event-max-past-hours): an event received
  /// after the cursor occurred after cursor - max_past, which bounds the scan for new
  /// events by occurred_at (BRIN index, partitions).
  core::unix_micros max_past = 7LL * 24 * 3600 * 1000000;
  /// Events received this long before the cursor are looked at again, for loaders of
  /// other nodes that commit a little out of received_at order.
  core::unix_micros overlap = 60LL * 1000000;
  /// work_mem of a pass's transaction (its exposure queries).
  std::string work_mem = "256MB";
  /// --aggregate-unheld=include: events that credit a variant their unit does not hold
  /// count in the aggregates too (they are counted either way).
  bool include_unheld = false;
};

/// What one pass or on-demand recompute did.
struct aggregate_pass_result {
  std::uint64_t experiments = 0;   ///< experiments whose metric rows were recomputed
  std::uint64_t metric_rows = 0;   ///< rows of exp.metric_aggregates written
  std::uint64_t exposure_rows = 0; ///< rows of exp.exposure_aggregates written
  std::uint64_t events_scanned = 0; ///< event rows streamed (experiments' and CUPED pre-periods')
  std::uint64_t unheld_events = 0;  ///< claims left out: the unit holds another variant
  std::optional<core::aggregate_window> window; ///< hour and day buckets recomputed
  std::optional<core::unix_micros> received_upto; ///< the periodic cursor after the pass
  bool skipped = false; ///< another node's pass was running: this one did nothing
};

/// A running experiment with stopping rules, for the aggregator to apply them.
struct stopping_candidate {
  core::uuid id;
  std::string name;
  core::stopping_rules rules;
};

/// exp.metric_aggregates and exp.exposure_aggregates: the recompute (events streamed by
/// metric_scan into core::metric_rollup, rows written in one transaction a pass) and
/// the loaders results and trend charts read.
/// Blocking: detached actors only.
class aggregate_store {
public:
  explicit aggregate_store(std::string pg_url, aggregate_store_config cfg = {});

  /// The periodic pass: recomputes every bucket touched by events received since the
  /// cursor (late events included), the cumulative rows of their experiments, and the
  /// exposures of running and paused experiments; advances the cursor. One pass runs
  /// at a time in the cluster: while another node's holds the pass lock this one is
  /// skipped (the next interval tries again, so a dead node's turn is taken over).
  aggregate_pass_result run_pass();

  /// On demand: recomputes the hour and day buckets of `window` (widened to whole UTC
  /// days) of every experiment with events in it, their cumulative rows and exposures.
  /// Leaves the periodic cursor alone.
  aggregate_pass_result recompute(core::aggregate_window window);

  /// For results: per variant its exposures and the 'experiment'-granularity moments
  /// of every metric. nullopt when there is no such experiment. Reads aggregate rows
  /// only (an index range), never events or assignments.
  std::optional<core::experiment_aggregates> load_experiment(const core::uuid& experiment);

  /// The running experiments that have stopping rules.
  std::vector<stopping_candidate> stopping_candidates();

  /// For trend charts: the hour or day rows of one experiment in [from, to), ordered by
  /// (variant, event type, metric, bucket). `g` must be hour or day.
  std::vector<core::aggregate_point> load_series(const core::uuid& experiment,
                                                 core::aggregate_granularity g,
                                                 core::unix_micros from, core::unix_micros to);

private:
  pg_session session_;
  aggregate_store_config cfg_;
};

} // namespace expd::runtime
