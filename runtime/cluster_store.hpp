#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// A node refused a place in the cluster: its name is another live node's, or it speaks
/// another cluster protocol. The message says which node and what to do.
class cluster_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What a node says of itself when it joins.
struct node_identity {
  std::string name;
  std::string cluster_address; ///< host:port of its node link
  std::string http_address;    ///< host:port of its gateway
  std::string build_version;
  int protocol = 0; ///< nodes of one cluster speak one protocol
};

/// One row of exp.cluster_nodes as read.
struct cluster_node_row {
  node_identity node;
  std::string state; ///< joining, up, draining, down, left
  std::int64_t incarnation = 0;
  std::int64_t released_ring = 0;
  double lease_left_seconds = 0; ///< negative once the lease has run out
  std::string stats_json;        ///< what the node last reported of itself
  std::optional<double> stats_age_seconds; ///< since that report; none before the first
  std::string started_at;        ///< RFC 3339
};

/// The current ring as stored: its version and its members' names.
struct cluster_ring_row {
  std::int64_t version = 0;
  std::vector<std::string> members;
};

/// Membership and the ring in PostgreSQL (sql/009_cluster.sql). Leases run on
/// PostgreSQL's clock, so nodes' clocks need not agree; each change to the ring is
/// made under the ring row's lock and announced with NOTIFY expd_cluster. Blocking:
/// one per membership actor.
class cluster_store {
public:
  cluster_store(std::string pg_url, std::chrono::milliseconds lease);

  /// Claims the node's name in state joining and answers its new incarnation. A name
  /// held by a live node at another address is refused; one held at the same address
  /// (this node, restarted within its lease) is waited for, up to `wait`. A live node
  /// of another protocol refuses the join. Throws cluster_error.
  std::int64_t join(const node_identity& me, std::chrono::milliseconds wait);

  /// Extends the lease by its length from now (PostgreSQL's now), stores `stats` (a
  /// JSON object) with `reported_at` (PostgreSQL's now, RFC 3339) and answers the node's state, which an operator may have set to
  /// draining. nullopt when the name is no longer this incarnation's or was marked
  /// down: the node has been replaced and must stop serving.
  std::optional<std::string> renew(const std::string& name, std::int64_t incarnation,
                                   const std::string& stats);

  /// An operator's drain of the node `name`, whichever process holds it: an up node
  /// becomes draining (its own membership actor moves its slots away). Answers the
  /// state it had, or nullopt when there is no such node.
  std::optional<std::string> drain(const std::string& name);

  /// Removes a node that is down or left, for an operator who knows it will not come
  /// back (its journal is lost with it). Answers the state it had (a live node is not
  /// removed), or nullopt when there is no such node.
  std::optional<std::string> forget(const std::string& name);

  /// The cluster's id (exp.cluster_ring.cluster_id).
  std::string cluster_id();

  /// Moves the node to `state` (up, draining, left); false as for renew.
  bool set_state(const std::string& name, std::int64_t incarnation, const std::string& state);

  /// Records that the node serves nothing it lost up to ring `version` and has
  /// stored their first-time assignments.
  void release(const std::string& name, std::int64_t incarnation, std::int64_t version);

  /// Marks nodes whose lease ran out as down, and makes the up nodes the current ring
  /// (a new version, announced) when they differ from it. Answers the current ring.
  cluster_ring_row reconcile();

  std::vector<cluster_node_row> nodes();

  /// The session, for LISTEN (the membership actor waits on its notifications).
  pg_session& session() noexcept {
    return session_;
  }

private:
  /// Runs `statement` ($1: the name) under the node row's lock; answers the state the
  /// node had, or nullopt when there is no such node.
  std::optional<std::string> change_node(const std::string& name, const char* statement);

  pg_session session_;
  std::chrono::milliseconds lease_;
};

} // namespace expd::runtime
