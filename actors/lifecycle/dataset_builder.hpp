#pragma once

#include <string>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"
#include "runtime/dataset_build.hpp"

namespace expd {

struct dataset_builder_config {
  runtime::dataset_build_config build;
  std::string mlflow_uri; ///< --mlflow; empty: versions are not logged to MLflow
  std::string mlflow_experiment = "expd-datasets";
};

/// Spawns the node's dataset builder, detached (a build blocks on PostgreSQL, Parquet
/// and object storage for as long as the window takes). Builds
/// one at a time, in the order asked; a build that fails leaves nothing behind. Throws
/// object_store_error for a bad --datasets. docs/lifecycle.md, "Datasets from events".
dataset_builder_actor spawn_dataset_builder(caf::actor_system& sys, dataset_builder_config cfg);

} // namespace expd
