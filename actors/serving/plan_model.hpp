#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "core/replay.hpp"
#include "messages/actors.hpp"

namespace expd {

struct plan_model_config {
  core::model_reference model; ///< a version, not an alias
  std::string pg_url;          ///< the planner domain's recipes, for reading inputs' features
  std::string mlflow_uri;
  std::string model_cache;     ///< --model-cache, shared with offline replay
  std::string tokenize_binary; ///< expd-tokenize
  training_registry_actor registry; ///< whose model hosts load the model
  std::chrono::seconds host_wait{60}; ///< how long a load waits for a model host to register
  std::chrono::milliseconds generate_timeout{60000};
};

/// Spawns the server of one model version for POST /v1/plan (detached: fetching from
/// MLflow and tokenising block). At start it fetches the version into the model cache,
/// starts its tokenizer process and asks the registry's model host for an inference
/// worker; generation is asynchronous, so concurrent requests share the worker's
/// batches. Each request's input features join a window compared with the features of
/// the dataset the version was trained on (its run's dataset param): PSI and KS per
/// feature (core/drift), in its status and its JSON. Ends (and refuses what waited) when
/// the model cannot be served.
plan_model_actor spawn_plan_model(caf::actor_system& sys, plan_model_config cfg);

} // namespace expd
