#include <fstream>
#include <iostream>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gpu/lora.hpp"
#include "gpu/lora_trainer.hpp"
#include "gpu/safetensors.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd::gpu;

namespace {

std::filesystem::path plain() {
  return test::tiny_checkpoints() / "plain";
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Random rows of 9 tokens, right-padded to random lengths of 4-9, [steps, micro, 2, 9].
struct batch_set {
  at::Tensor input_ids, mask;

  std::vector<token_batch> step(std::int64_t s) const {
    std::vector<token_batch> out;
    for (std::int64_t m = 0; m < input_ids.size(1); ++m)
      out.push_back({input_ids[s][m], mask[s][m]});
    return out;
  }
};

batch_set random_batches(std::int64_t steps, std::int64_t micro, std::int64_t vocab, std::uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto ids = at::randint(vocab, {steps, micro, 2, 9}, gen, at::kLong);
  auto lengths = at::randint(4, 10, {steps, micro, 2, 1}, gen, at::kLong);
  auto mask = at::arange(9, at::kLong).view({1, 1, 1, 9}) < lengths;
  return {ids.masked_fill(~mask, 3), mask};
}

expd::core::optimizer_spec schedule() {
  expd::core::optimizer_spec opt;
  opt.learning_rate = 5e-3;
  opt.beta1 = 0.9;
  opt.beta2 = 0.99;
  opt.eps = 1e-8;
  opt.weight_decay = 0.01;
  opt.warmup_steps = 2;
  opt.schedule = expd::core::lr_schedule::cosine;
  opt.min_lr_ratio = 0.1;
  opt.max_grad_norm = 0.05;
  return opt;
}

expd::core::lora_spec lora_of(double dropout) {
  return {4, 8.0, dropout, {"q_proj", "v_proj", "down_proj"}};
}

} // namespace

TEST(lora_trainer, agrees_with_torch_adamw_on_the_same_checkpoint_and_batches) {
  constexpr std::int64_t steps = 5;
  auto dir = test::scratch_dir("lora-vs-torch");
  auto model = load_llama_model(plain());
  lora_adapter adapter(model, lora_of(0.0), 11, plain().string());
  adapter.save(dir / "initial");
  auto batches = random_batches(steps, 2, model->config().vocab_size, 12);
  write_safetensors(dir / "batches.safetensors", {{"input_ids", batches.input_ids}, {"mask", batches.mask}});
  auto opt = schedule();
  nlohmann::json setup = {{"checkpoint", plain().string()}, {"rank", 4}, {"alpha", 8.0},
                          {"learning_rate", opt.learning_rate}, {"beta1", opt.beta1},
                          {"beta2", opt.beta2}, {"eps", opt.eps}, {"weight_decay", opt.weight_decay},
                          {"warmup_steps", opt.warmup_steps}, {"total_steps", steps},
                          {"min_lr_ratio", opt.min_lr_ratio}, {"max_grad_norm", opt.max_grad_norm}};
  std::ofstream(dir / "setup.json") << setup.dump();

  lora_trainer trainer(model, adapter, opt, steps);
  std::vector<step_result> results;
  for (std::int64_t s = 0; s < steps; ++s)
    results.push_back(trainer.step(batches.step(s)));
  test::run_command(std::string{EXPD_TORCH_PYTHON} + " " + EXPD_LORA_REFERENCE_SCRIPT + " train "
                    + dir.string());
  auto ref = read_safetensors(dir / "reference.safetensors").tensors;

  double loss_diff = 0, lr_diff = 0, norm_diff = 0, weight_diff = 0;
  int clipped = 0;
  for (std::int64_t s = 0; s < steps; ++s) {
    auto& r = results[s];
    std::cout << "step " << s << ": loss " << r.loss << " (torch " << ref.at("losses")[s].item<double>()
              << "), lr " << r.learning_rate << ", grad norm " << r.grad_norm << " (torch "
              << ref.at("grad_norms")[s].item<double>() << "), tokens " << r.tokens << "\n";
    loss_diff = std::max(loss_diff, std::abs(r.loss - ref.at("losses")[s].item<double>()));
    lr_diff = std::max(lr_diff, std::abs(r.learning_rate - ref.at("learning_rates")[s].item<double>()));
    norm_diff = std::max(norm_diff, std::abs(r.grad_norm - ref.at("grad_norms")[s].item<double>()));
    clipped += r.grad_norm > opt.max_grad_norm;
  }
  for (auto& [name, tensor] : adapter.peft_tensors())
    weight_diff = std::max(weight_diff, max_difference(tensor, ref.at(name)));
  std::cout << "max differences to torch: loss " << loss_diff << ", lr " << lr_diff << ", grad norm "
            << norm_diff << ", adapter weights " << weight_diff << "\n";
  EXPECT_GE(clipped, 2) << "the test must exercise clipping";
  EXPECT_LT(loss_diff, 1e-5);
  EXPECT_LT(lr_diff, 1e-12);
  EXPECT_LT(norm_diff, 1e-5);
  EXPECT_LT(weight_diff, 1e-5);
  auto moved = max_difference(adapter.peft_tensors().begin()->second,
                              read_safetensors(dir / "initial" / "adapter_model.safetensors")
                                .tensors.begin()->second);
  EXPECT_GT(moved, 1e-3) << "the adapter must have trained";
}

TEST(lora_trainer, only_the_adapter_gets_gradients_and_the_base_stays_and_merges) {
  auto model = load_llama_model(plain());
  std::map<std::string, at::Tensor> base;
  for (auto& item : model->named_parameters())
    base.emplace(item.key(), item.value().detach().clone());
  lora_adapter adapter(model, lora_of(0.1), 21, "plain");
  lora_trainer trainer(model, adapter, schedule(), 3);
  auto batches = random_batches(3, 1, model->config().vocab_size, 22);
  for (std::int64_t s = 0; s < 3; ++s)
    trainer.step(batches.step(s));
  for (auto& item : model->named_parameters()) {
    auto is_adapter = item.key().find(".lora_") != std::string::npos;
    SCOPED_TRACE(item.key());
    if (is_adapter) {
      ASSERT_TRUE(item.value().grad().defined());
      EXPECT_GT(item.value().grad().abs().max().item<double>(), 0);
    } else {
      EXPECT_FALSE(item.value().grad().defined());
      EXPECT_TRUE(at::equal(item.value(), base.at(item.key())));
    }
  }
  // After training (B != 0), the merged model's logits are the adapter's.
  at::NoGradGuard no_grad;
  model->eval();
  auto ids = batches.input_ids[0][0];
  auto adapted = model->forward(ids);
  adapter.merge();
  auto diff = max_difference(model->forward(ids), adapted);
  std::cout << "merged vs adapter logits after training: " << diff << "\n";
  EXPECT_LT(diff, 1e-5);
}

TEST(lora_trainer, a_second_adapter_goes_on_once_the_first_is_gone) {
  auto model = load_llama_model(plain());
  { lora_adapter first(model, lora_of(0.0), 1, "plain"); }
  lora_adapter second(model, lora_of(0.0), 2, "plain");
  std::size_t trainable = 0;
  for (auto& p : model->parameters())
    trainable += p.requires_grad();
  EXPECT_EQ(trainable, second.parameters().size());
}

TEST(lora_trainer, resuming_from_a_checkpoint_gives_the_losses_of_not_stopping) {
  auto dir = test::scratch_dir("lora-resume");
  auto batches = random_batches(6, 2, 96, 31);
  auto opt = schedule();
  // Dropout on, so the generator's saved state matters.
  std::vector<double> straight, resumed;
  std::map<std::string, at::Tensor> straight_weights;
  {
    auto model = load_llama_model(plain());
    lora_adapter adapter(model, lora_of(0.1), 32, "plain");
    lora_trainer trainer(model, adapter, opt, 6);
    for (std::int64_t s = 0; s < 6; ++s)
      straight.push_back(trainer.step(batches.step(s)).loss);
    straight_weights = adapter.peft_tensors();
  }
  {
    auto model = load_llama_model(plain());
    lora_adapter adapter(model, lora_of(0.1), 32, "plain");
    lora_trainer trainer(model, adapter, opt, 6);
    for (std::int64_t s = 0; s < 3; ++s) {
      resumed.push_back(trainer.step(batches.step(s)).loss);
      // Each checkpoint replaces the one before; the last (after step 3) is resumed.
      if (s >= 1)
        trainer.save_checkpoint(dir / "checkpoint");
    }
    // A step past the checkpoint, which the resumed run must not see.
    trainer.step(batches.step(3));
  }
  EXPECT_FALSE(std::filesystem::exists(dir / ("checkpoint.tmp-" + std::to_string(::getpid()))));
  EXPECT_FALSE(std::filesystem::exists(dir / ("checkpoint.old-" + std::to_string(::getpid()))));
  {
    auto model = load_llama_model(plain());
    lora_adapter adapter(model, lora_of(0.1), 999, "plain");
    lora_trainer trainer(model, adapter, opt, 6);
    trainer.resume(dir / "checkpoint");
    EXPECT_EQ(trainer.steps_done(), 3u);
    for (std::int64_t s = 3; s < 6; ++s)
      resumed.push_back(trainer.step(batches.step(s)).loss);
    for (auto& [name, tensor] : adapter.peft_tensors())
      EXPECT_TRUE(at::equal(tensor, straight_weights.at(name))) << name;
  }
  for (std::size_t s = 0; s < 6; ++s)
    std::cout << "step " << s << ": straight " << straight[s] << ", resumed " << resumed[s] << "\n";
  EXPECT_EQ(straight, resumed);
}
