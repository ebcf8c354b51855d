#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "runtime/aggregate_store.hpp"

namespace expd {

struct aggregator_config {
  std::string pg_url;
  runtime::aggregate_store_config store;
  /// Between periodic passes (--aggregate-interval-ms); 0: no periodic pass, on-demand
  /// recomputes only.
  std::chrono::milliseconds interval{60000};
  /// Where stopping rules change an experiment's status; unset: rules are not applied.
  experiment_registry_actor registry;
};

struct aggregator_state {
  static inline const char* name = "aggregator";

  aggregator_config cfg;
  std::unique_ptr<runtime::aggregate_store> store;
  std::chrono::milliseconds backoff{0};
  std::optional<core::unix_micros> received_upto; ///< the periodic cursor
  std::uint64_t passes = 0;
  std::uint64_t passes_skipped = 0;
  std::uint64_t recomputes = 0;
  std::uint64_t failures = 0;
  std::uint64_t metric_rows = 0;
  std::uint64_t events_scanned = 0;
  double last_pass_seconds = 0;
  std::uint64_t rule_actions = 0; ///< experiments a stopping rule paused or stopped
};

/// Runs detached (every pass blocks on PostgreSQL): a pass every `interval`, each
/// recomputing in one transaction the buckets that events received since the last
/// touched; a failed pass is retried with backoff (1 s to the interval). Answers
/// atom::aggregate by recomputing a window at once. After each pass it ran and each
/// recompute, it applies the stopping rules of running experiments to their results
/// and asks the registry to pause or stop the ones whose rule fires, with the reason.
aggregator_actor::behavior_type
aggregator(aggregator_actor::stateful_pointer<aggregator_state> self, aggregator_config cfg);

} // namespace expd
