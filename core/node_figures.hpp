#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace expd::core {

/// A node's counters and queue depths at one moment, summed over the samples of its
/// actors' status records (the figures /metrics shows).
struct node_totals {
  double http_requests = 0;   ///< expd_http_requests_total, every endpoint and code
  double assign_requests = 0; ///< the same, endpoint "assign" (POST /v1/assign)
  double assignments = 0;     ///< expd_assignments_total: one per experiment a unit got
  double events_accepted = 0; ///< expd_events_accepted_total
  double pending_writes = 0;  ///< expd_shard_pending_writes
  double writer_queue = 0;    ///< expd_writer_queue_depth
  double spool_backlog = 0;   ///< expd_spool_unloaded_events: spooled, not in PostgreSQL
  double loader_queue = 0;    ///< expd_event_loader_lag_events: told the loader, not loaded
  double archive_backlog = 0; ///< expd_spool_unarchived_events
};

/// Adds one sample (its name, its rendered labels, its value); samples of other names
/// do not count.
void add_sample(node_totals& totals, std::string_view name, std::string_view labels,
                double value);

/// What a node publishes of itself with its lease renewal (exp.cluster_nodes.stats,
/// docs/api.md#get-v1cluster): the counters of `after` against `before`, `seconds`
/// earlier, as rates per second, and the queue depths of `after`. A counter that went
/// down (its actor started again) counts from zero; no interval gives rates of zero.
nlohmann::json node_figures(const node_totals& before, const node_totals& after,
                            double seconds);

} // namespace expd::core
