#pragma once

#include <filesystem>

#include <caf/actor_system.hpp>

#include "core/batch_queue.hpp"
#include "core/generation.hpp"
#include "gpu/llama_model.hpp"
#include "messages/actors.hpp"

namespace expd::gpu {

struct inference_worker_config {
  std::filesystem::path model;   ///< a Hugging Face folder (load_llama_model)
  std::filesystem::path adapter; ///< a PEFT LoRA adapter folder merged into it, or empty
  model_placement placement;
  /// The caps a request is checked against; max_sequence is cut to the model's positions
  /// (and window) and vocab_size taken from it at spawn (core::fit_to_model).
  core::generation_limits limits;
  core::batch_policy batching;
  int threads = 0; ///< torch's intra-op threads for each batch; 0: torch's default
};

/// Loads the model (a fault throws checkpoint_error or std::invalid_argument naming the
/// file, tensor or field) and spawns the inference worker: it checks each request
/// against the limits at once, queues it (at most batching.max_queue wait), starts a
/// batch when core::batch_queue says one is due, runs it with gpu::generate on a thread
/// of its own (so it keeps accepting and refusing requests meanwhile), one batch at a
/// time, and answers every request of the batch with its own result.
inference_actor spawn_inference_worker(caf::actor_system& sys, inference_worker_config cfg);

} // namespace expd::gpu
