#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"

namespace expd {

struct pipeline_scheduler_config {
  std::string pg_url;
  std::string node;                     ///< whose runs these are: --node-name, or node@HOST:PORT for a node alone
  std::chrono::milliseconds tick{15000}; ///< --pipeline-tick-ms: between looks for due runs and at running jobs
};

/// Spawns the node's pipeline scheduler (detached: PostgreSQL blocks). It runs one run
/// at a time, each step through `datasets` and `training` as an operator's requests
/// would. At start it resumes this node's queued and running runs and catches up the
/// latest slot each pipeline missed. docs/lifecycle.md, "Pipelines".
pipeline_scheduler_actor spawn_pipeline_scheduler(caf::actor_system& sys, pipeline_scheduler_config cfg,
                                                  dataset_builder_actor datasets, training_registry_actor training);

} // namespace expd
