#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "cluster/node_link.hpp"
#include "messages/actors.hpp"
#include "runtime/cluster_store.hpp"

namespace expd::cluster {

struct membership_config {
  std::string pg_url;
  runtime::node_identity identity;
  std::int64_t incarnation = 0; ///< from cluster_store::join at start-up
  node_hello hello;             ///< what the entry says of this node
  link_security security = link_security::tls;
  /// A node serves its slots for at most this long after a renewal; the others take
  /// them over once PostgreSQL sees it run out (docs/cluster.md: the 2-second budget).
  std::chrono::milliseconds lease{1000};
  std::chrono::milliseconds renew_interval{200};
  std::chrono::milliseconds link_timeout{2000};
  std::chrono::milliseconds drain_timeout{30000};
  std::size_t preload_batch = 10000;
};

/// The local actors the membership actor steers.
struct membership_peers {
  std::vector<assignment_shard_actor> shards;
  assignment_writer_actor writer;
  node_entry_control_actor entry;
  ingestion_actor ingestion;
  experiment_registry_actor registry;
  event_loader_actor loader; ///< asked only for its status, like the others' figures
};

/// Spawns the node's membership actor (detached: it blocks on PostgreSQL). Every
/// renew interval it renews the lease, reconciles the ring, installs a newer one,
/// releases the slots it lost (their first-time assignments stored), takes over the
/// slots it gained once their previous owner released them or is down (their sticky
/// rows loaded into the shards), links to the other nodes, and pushes the routing to
/// the entry, ingestion and every gateway that subscribed. Between passes it waits on NOTIFY
/// expd_cluster, so a change elsewhere is seen at once.
membership_actor spawn_membership(caf::actor_system& sys, membership_config cfg,
                                  membership_peers peers);

} // namespace expd::cluster
