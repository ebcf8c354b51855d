#include "gpu/lora_trainer.hpp"

#include <cmath>
#include <stdexcept>

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <unistd.h>

#include "gpu/checkpoint_error.hpp"
#include "gpu/durable_file.hpp"
#include "gpu/safetensors.hpp"

namespace expd::gpu {

namespace {

at::Tensor target_mask(const token_batch& batch) {
  auto steps = batch.mask.size(1);
  auto next = batch.targets.defined() ? batch.mask & batch.targets : batch.mask;
  return batch.mask.narrow(1, 0, steps - 1) & next.narrow(1, 1, steps - 1);
}

} // namespace

loss_sum causal_lm_loss(const at::Tensor& logits, const token_batch& batch) {
  auto steps = batch.input_ids.size(1);
  auto valid = target_mask(batch);
  auto wide = logits.narrow(1, 0, steps - 1).to(at::promote_types(logits.scalar_type(), at::kFloat));
  auto targets = batch.input_ids.narrow(1, 1, steps - 1);
  auto log_probs = at::log_softmax(wide, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  return {-(log_probs * valid.to(log_probs.scalar_type())).sum(), valid.sum().item<std::int64_t>()};
}

lora_trainer::lora_trainer(llama_model model, lora_adapter& adapter, core::optimizer_spec optimizer,
                           std::uint64_t total_steps)
  : model_(std::move(model)), adapter_(adapter), spec_(optimizer), total_steps_(total_steps) {
  auto options = torch::optim::AdamWOptions(spec_.learning_rate)
                   .betas({spec_.beta1, spec_.beta2})
                   .eps(spec_.eps)
                   .weight_decay(spec_.weight_decay);
  optimizer_ = std::make_unique<torch::optim::AdamW>(adapter_.parameters(), options);
}

lora_trainer::~lora_trainer() = default;

step_result lora_trainer::step(const std::vector<token_batch>& micro_batches, rank_group* ranks) {
  if (micro_batches.empty() && ranks == nullptr)
    throw std::invalid_argument("a training step needs at least one micro-batch");
  step_result result;
  for (auto& batch : micro_batches)
    result.tokens += target_mask(batch).sum().item<std::int64_t>();
  if (ranks != nullptr)
    result.tokens = static_cast<std::int64_t>(ranks->sum(static_cast<double>(result.tokens)));
  if (result.tokens == 0)
    throw std::invalid_argument("a training step's micro-batches have no target tokens");

  model_->train();
  optimizer_->zero_grad();
  double loss = 0;
  for (auto& batch : micro_batches) {
    auto part = causal_lm_loss(model_->forward(batch.input_ids), batch);
    // Divided by the step's token count (of all ranks), so the gradients are those of the
    // mean over all micro-batches' tokens: accumulation and ranks equal one large batch.
    (part.sum / static_cast<double>(result.tokens)).backward();
    loss += part.sum.item<double>();
  }
  auto parameters = adapter_.parameters();
  if (ranks != nullptr) {
    loss = ranks->sum(loss);
    std::vector<at::Tensor> grads;
    for (auto& p : parameters) {
      if (!p.grad().defined())
        p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    ranks->sum(grads);
  }
  result.loss = loss / static_cast<double>(result.tokens);

  if (spec_.max_grad_norm > 0) {
    result.grad_norm = torch::nn::utils::clip_grad_norm_(parameters, spec_.max_grad_norm);
  } else {
    double squares = 0;
    for (auto& p : parameters)
      if (p.grad().defined())
        squares += p.grad().to(at::kDouble).pow(2).sum().item<double>();
    result.grad_norm = std::sqrt(squares);
  }

  result.learning_rate = core::learning_rate_at(spec_, steps_done_, total_steps_);
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(result.learning_rate);
  optimizer_->step();
  ++steps_done_;
  return result;
}

double lora_trainer::evaluate(const std::vector<token_batch>& batches) {
  at::NoGradGuard no_grad;
  model_->eval();
  double sum = 0;
  std::int64_t tokens = 0;
  for (auto& batch : batches) {
    auto part = causal_lm_loss(model_->forward(batch.input_ids), batch);
    sum += part.sum.item<double>();
    tokens += part.tokens;
  }
  return tokens ? sum / static_cast<double>(tokens) : 0.0;
}

void lora_trainer::save_checkpoint(const std::filesystem::path& folder) const {
  auto temp = folder;
  temp += ".tmp-" + std::to_string(::getpid());
  std::filesystem::remove_all(temp);
  std::filesystem::create_directories(temp);
  adapter_.save(temp / "adapter");
  torch::serialize::OutputArchive archive;
  optimizer_->save(archive);
  archive.save_to((temp / "optimizer.pt").string());
  sync_path(temp / "optimizer.pt");
  auto generator = adapter_.generator();
  at::Tensor rng;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    rng = generator.get_state();
  }
  write_safetensors(temp / "trainer_state.safetensors", {{"dropout_generator", rng}},
                    {{"step", std::to_string(steps_done_)}});
  sync_path(temp);
  // A folder cannot be renamed over a non-empty one: the old checkpoint steps aside
  // first and goes only once the new one is in place.
  auto old = folder;
  old += ".old-" + std::to_string(::getpid());
  std::filesystem::remove_all(old);
  if (std::filesystem::exists(folder))
    std::filesystem::rename(folder, old);
  std::filesystem::rename(temp, folder);
  sync_path(folder.has_parent_path() ? folder.parent_path() : std::filesystem::path{"."});
  std::filesystem::remove_all(old);
}

void lora_trainer::resume(const std::filesystem::path& folder) {
  adapter_.load(folder / "adapter");
  torch::serialize::InputArchive archive;
  archive.load_from((folder / "optimizer.pt").string());
  optimizer_->load(archive);
  auto file = (folder / "trainer_state.safetensors").string();
  auto state = read_safetensors(file);
  auto rng = state.tensors.find("dropout_generator");
  auto step = state.metadata.find("step");
  if (rng == state.tensors.end() || step == state.metadata.end())
    throw checkpoint_error(file, rng == state.tensors.end() ? "dropout_generator" : "",
                           "missing the dropout generator's state or the step");
  auto generator = adapter_.generator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng->second);
  }
  steps_done_ = std::stoull(step->second);
}

} // namespace expd::gpu
