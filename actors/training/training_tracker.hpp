#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"

namespace expd {

struct training_tracker_config {
  std::string pg_url;
  std::string mlflow_uri; ///< MLflow's tracking server, http(s)
  /// How often what MLflow did not take (it was away) is tried again.
  std::chrono::milliseconds retry_interval{2000};
};

/// Spawns the node's MLflow tracker of training jobs (detached: it blocks on MLflow and
/// PostgreSQL). Each job's runs log into one MLflow run (its id kept in
/// exp.training_jobs, so a retry on any node finds it): params and tags when it starts,
/// loss, learning rate, gradient norm and tokens/s per step, the validation curve,
/// artifacts (the adapter, the base model's tokenizer and config) and the run's end; a
/// job that succeeded with mlflow.register_model becomes that model's next version.
/// What MLflow refuses is written to the job's log; what it cannot take now (down) is
/// kept and tried again, in order. docs/lifecycle.md, "Training runs in MLflow".
training_tracker_actor spawn_training_tracker(caf::actor_system& sys, training_tracker_config cfg);

} // namespace expd
