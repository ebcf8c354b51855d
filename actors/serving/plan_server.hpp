#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"

namespace expd {

struct plan_server_config {
  std::string pg_url;
  std::string mlflow_uri;  ///< --mlflow; empty: plans are refused (the models are in MLflow)
  std::string model_cache; ///< --model-cache
  std::string tokenize_binary;
  training_registry_actor registry; ///< whose model hosts run the models
  ingestion_actor ingestion;        ///< where the plan_generated events go
  std::uint32_t max_new_tokens = 96; ///< --plan-max-new-tokens: a request's default
  double usd_per_1k_tokens = 0;      ///< --plan-usd-per-1k-tokens: cost_usd of a plan
  std::chrono::milliseconds generate_timeout{60000};
  std::chrono::seconds host_wait{60};
};

/// Spawns the node's plan server (POST /v1/plan; docs/lifecycle.md, "Serving plans"):
/// for a request whose unit the gateway assigned, the input rendered from the domain
/// tables and the variant's policy version resolved (a detached reader), the model
/// version served by a plan_model of its own (loaded once, shared by every request for
/// it), and the plan_generated event sent to ingestion like any client's.
plan_server_actor spawn_plan_server(caf::actor_system& sys, plan_server_config cfg);

} // namespace expd
