#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"

namespace expd {

struct promotion_controller_config {
  std::string pg_url;
  std::string mlflow_uri; ///< empty: no promotion can start (candidates live in MLflow)
  std::chrono::milliseconds interval{60000}; ///< between passes over active promotions
  /// A step's sample-ratio check counts the units first assigned this long after the
  /// step began: exp.assignments.assigned_at is when the writer stored a unit
  /// (write-behind, tens of milliseconds later), so the first moments of a step still
  /// hold units assigned under the allocations before it.
  std::chrono::milliseconds srm_grace{5000};
};

/// Spawns the node's promotion controller (detached: PostgreSQL and MLflow block). It
/// changes experiments only through `registry`, as an operator's apply would, so the
/// cluster's barrier and every node's snapshot follow. docs/lifecycle.md, "Promotion".
promotion_controller_actor spawn_promotion_controller(caf::actor_system& sys, promotion_controller_config cfg,
                                                      experiment_registry_actor registry);

} // namespace expd
