#pragma once

#include <cstddef>

#include <caf/actor_system.hpp>

#include "gpu/inference_worker.hpp"
#include "messages/actors.hpp"

namespace expd::gpu {

struct model_host_config {
  /// What every worker the host spawns takes: batching, limits, threads, placement. Its
  /// model and adapter come from each request.
  inference_worker_config worker;
  std::size_t max_models = 4; ///< inference workers at once (each holds its model's weights)
};

/// Spawns the model host (detached: loading a model blocks for seconds). It answers
/// atom::load with the inference worker serving the request's key, spawning one when
/// there is none; past max_models it stops the worker asked for least recently first.
/// docs/gpu.md, "Model hosts".
model_host_actor spawn_model_host(caf::actor_system& sys, model_host_config cfg);

} // namespace expd::gpu
