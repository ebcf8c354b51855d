#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "messages/shard_router.hpp"
#include "runtime/cluster_store.hpp"
#include "runtime/event_store.hpp"
#include "runtime/experiment_store.hpp"
#include "runtime/policy_store.hpp"
#include "runtime/saved_group_store.hpp"

namespace expd {

struct experiment_registry_state {
  static inline const char* name = "experiment_registry";

  std::unique_ptr<runtime::experiment_store> store;
  std::unique_ptr<runtime::cluster_store> cluster; ///< a cluster member's; null alone
  core::snapshot_ptr current;
  std::vector<assignment_shard_actor> subscribers;
  std::unique_ptr<runtime::event_store> events;
  std::unique_ptr<runtime::policy_store> policies; ///< what variant configs' policy_version_id names
  std::unique_ptr<runtime::saved_group_store> groups; ///< what conditions' $inGroup and $savedGroup name
  std::vector<core::event_type> event_types;
  std::vector<ingestion_actor> ingestors; ///< get the event catalog
  std::uint64_t event_type_applies = 0;
  std::uint64_t applies = 0;
  std::uint64_t status_changes = 0;
  std::uint64_t group_applies = 0, group_deletes = 0;
  std::uint64_t barriers = 0, barriers_refused = 0;
  shard_router router;                      ///< a cluster member's newest routing
  std::vector<shard_access_actor> barrier_held; ///< told to write through, change pending
};

/// Runs detached: applies and status changes write to PostgreSQL synchronously, then
/// a new snapshot is pushed to every subscriber before the caller hears back, so an
/// operator's next assign sees the change. A cluster member (`clustered`) refuses to
/// move a served experiment's buckets while a node is down, and moves them only after
/// every shard of the cluster confirmed the barrier (docs/cluster.md).
experiment_registry_actor::behavior_type
experiment_registry(experiment_registry_actor::stateful_pointer<experiment_registry_state> self,
                    std::string pg_url, core::snapshot_ptr initial, bool clustered);

} // namespace expd
