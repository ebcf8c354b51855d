#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/training_job.hpp"
#include "gpu/llama_model.hpp"
#include "gpu/lora.hpp"
#include "gpu/rank_group.hpp"

namespace torch::optim {
class AdamW;
}

namespace expd::gpu {

/// Token rows, right-padded: input_ids [B, T] (int64) and mask [B, T] (bool, true at real
/// tokens). Position t predicts token t + 1 where both are real, and, when `targets`
/// ([B, T] bool) is given, where token t + 1 is a target (a prompt's tokens are context
/// the loss does not count).
struct token_batch {
  at::Tensor input_ids;
  at::Tensor mask;
  at::Tensor targets;
};

/// The causal-LM loss summed over a batch's targets, and how many targets there are.
struct loss_sum {
  at::Tensor sum; // scalar, float32 or wider
  std::int64_t tokens = 0;
};

/// Cross-entropy of next-token prediction over the non-padding targets of `batch`,
/// from logits [B, T, vocab]: summed, so micro-batches add up to one mean.
loss_sum causal_lm_loss(const at::Tensor& logits, const token_batch& batch);

/// What one optimizer step did.
struct step_result {
  double loss = 0;          ///< mean over the step's target tokens
  double learning_rate = 0; ///< the rate this step used
  double grad_norm = 0;     ///< global L2 norm of the gradients before clipping
  std::int64_t tokens = 0;  ///< target tokens of the step (of every rank)
};

/// LoRA fine-tuning of one model on one rank: AdamW (torch::optim::AdamW) over the
/// adapter's A and B with the job's betas, eps and weight decay, the learning rate of
/// each step from core::learning_rate_at, gradient accumulation over the micro-batches a
/// step gets, and clipping by global norm. Dropout draws from the adapter's generator,
/// so a run is fixed by its seed, and a checkpoint keeps that generator's state.
class lora_trainer {
public:
  lora_trainer(llama_model model, lora_adapter& adapter, core::optimizer_spec optimizer,
               std::uint64_t total_steps);
  ~lora_trainer();

  /// One optimizer step over `micro_batches` (its gradient accumulation): the loss is the
  /// mean over all their target tokens, as if they were one batch. With `ranks`, over
  /// every rank's micro-batches: the gradients are summed across them, so each rank
  /// takes the step of the combined batch (a rank may then have no rows of its own).
  step_result step(const std::vector<token_batch>& micro_batches, rank_group* ranks = nullptr);

  /// Mean loss over `batches` without gradients or dropout.
  double evaluate(const std::vector<token_batch>& batches);

  /// Optimizer steps made so far (a resumed run counts those before the checkpoint).
  std::uint64_t steps_done() const {
    return steps_done_;
  }

  /// Writes the adapter (PEFT layout), the optimizer state, the step and the dropout
  /// generator's state into `folder`: built in a temporary folder beside it and renamed
  /// into place, so `folder` is a whole checkpoint or the previous one.
  void save_checkpoint(const std::filesystem::path& folder) const;
  /// Continues from a checkpoint save_checkpoint wrote, onto the same base model.
  void resume(const std::filesystem::path& folder);

private:
  llama_model model_;
  lora_adapter& adapter_;
  core::optimizer_spec spec_;
  std::uint64_t total_steps_;
  std::uint64_t steps_done_ = 0;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

} // namespace expd::gpu
