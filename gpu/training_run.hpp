#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "messages/types.hpp"

// One rank's run of a training job, from the job's JSON to its adapter: tokenise the
// dataset (in another process: expd-tokenize), load the base model, put LoRA on it,
// join the other ranks, take the optimizer steps, checkpoint, evaluate, save. Plain
// code without actors, so the trainer worker (gpu/trainer_worker) only carries it out.
namespace expd::gpu {

struct training_run_config {
  std::string tokenize_binary;  ///< expd-tokenize
  std::string gloo_host = "127.0.0.1";
  int threads = 0;              ///< torch's intra-op threads; 0: leave torch's default
  std::chrono::milliseconds join_timeout{60000};
};

/// What the registry asked this rank to do (atom::train).
struct training_assignment {
  std::string job_id;
  std::string spec; ///< the job's JSON
  std::string resume_from;
  std::uint32_t rank = 0;
  std::uint32_t world_size = 1;
  std::uint32_t run = 0;
};

/// Runs it to the end. `report` gets rank 0's progress after each step (and the steps
/// that wrote a checkpoint or evaluated); `cancel` is looked at before each step and
/// the ranks stop at the same one. Never throws: every fault is an outcome, retriable
/// where another try may succeed (a rank lost, out of memory, the tokenizer process
/// killed), not where the job is at fault (its dataset, its model, its settings).
training_outcome run_training(const training_assignment& work, const training_run_config& cfg,
                              const std::atomic<bool>& cancel,
                              const std::function<void(const training_progress&)>& report);

} // namespace expd::gpu
