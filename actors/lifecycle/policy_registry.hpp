#pragma once

#include <string>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"

namespace expd {

struct policy_registry_config {
  std::string pg_url;
  std::string mlflow_uri; ///< MLflow's tracking server; empty: no policy version can be added
};

/// Spawns the node's policy registry (detached: it blocks on PostgreSQL and MLflow).
/// Every node runs one; policies live in PostgreSQL, so any node applies and lists them.
/// docs/lifecycle.md, "Policies".
policy_registry_actor spawn_policy_registry(caf::actor_system& sys, policy_registry_config cfg);

} // namespace expd
