#include <future>
#include <iostream>
#include <thread>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "gpu/lora.hpp"
#include "gpu/lora_trainer.hpp"
#include "gpu/rank_group.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd::gpu;

namespace {

constexpr std::int64_t steps = 4, rows = 4, width = 9;

// Rows of random tokens, right-padded to random lengths, each with a prompt of 2-4
// tokens the loss does not count: [steps, rows, width].
struct global_batches {
  at::Tensor input_ids, mask, targets;

  // Rows [begin, begin + n) of step s as one micro-batch.
  token_batch rows_of(std::int64_t s, std::int64_t begin, std::int64_t n) const {
    return {input_ids[s].narrow(0, begin, n), mask[s].narrow(0, begin, n),
            targets[s].narrow(0, begin, n)};
  }
};

global_batches make_batches(std::int64_t vocab) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(21);
  auto ids = at::randint(vocab, {steps, rows, width}, gen, at::kLong);
  auto position = at::arange(width, at::kLong).view({1, 1, width});
  auto mask = position < at::randint(5, width + 1, {steps, rows, 1}, gen, at::kLong);
  auto targets = position >= at::randint(2, 5, {steps, rows, 1}, gen, at::kLong);
  return {ids.masked_fill(~mask, 0), mask, targets};
}

expd::core::optimizer_spec schedule() {
  expd::core::optimizer_spec opt;
  opt.learning_rate = 5e-3;
  opt.weight_decay = 0.01;
  opt.warmup_steps = 1;
  opt.max_grad_norm = 0.05; // clips every step: the norm must be the global batch's
  return opt;
}

struct run_result {
  std::vector<double> losses;
  std::vector<at::Tensor> parameters;
};

// Rank `rank` of `ranks`: its share of every step's rows, split into `micro` micro-batches.
run_result train(std::uint32_t rank, std::uint32_t ranks, std::int64_t micro, rank_group* group) {
  auto model = load_llama_model(test::tiny_checkpoints() / "plain");
  lora_adapter adapter(model, {4, 8.0, 0.0, {"q_proj", "v_proj", "down_proj"}}, 11, "plain");
  lora_trainer trainer(model, adapter, schedule(), steps);
  auto batches = make_batches(model->config().vocab_size);
  run_result out;
  auto share = rows / ranks, per_micro = share / micro;
  for (std::int64_t s = 0; s < steps; ++s) {
    std::vector<token_batch> mine;
    for (std::int64_t m = 0; m < micro; ++m)
      mine.push_back(batches.rows_of(s, rank * share + m * per_micro, per_micro));
    out.losses.push_back(trainer.step(mine, group).loss);
  }
  for (auto& p : adapter.parameters())
    out.parameters.push_back(p.detach().clone());
  return out;
}

// Both ranks of a group of two, each on its own thread, meeting in a fresh store.
std::pair<run_result, run_result> two_ranks(const std::string& name, std::int64_t micro) {
  auto store = (test::scratch_dir(name) / "store").string();
  auto run_rank = [&](std::uint32_t r) {
    rank_group group(store, r, 2, "127.0.0.1", std::chrono::seconds{30});
    EXPECT_EQ(group.size(), 2u);
    return train(r, 2, micro, &group);
  };
  auto other = std::async(std::launch::async, run_rank, 1u);
  auto first = run_rank(0);
  return {std::move(first), other.get()};
}

} // namespace

// Two ranks of two rows each take the same steps as one rank of all four rows.
TEST(data_parallel, two_gloo_ranks_take_the_steps_of_one_rank_with_the_combined_batch) {
  auto alone = train(0, 1, 1, nullptr);
  auto [first, second] = two_ranks("ddp", 1);
  ASSERT_EQ(first.parameters.size(), alone.parameters.size());
  double largest = 0;
  for (std::size_t i = 0; i < alone.parameters.size(); ++i) {
    EXPECT_TRUE(at::equal(first.parameters[i], second.parameters[i])) << "rank 0 and 1 differ at " << i;
    auto diff = (first.parameters[i] - alone.parameters[i]).abs().max().item<double>();
    EXPECT_LT(diff, 1e-6) << "parameter " << i;
    largest = std::max(largest, diff);
  }
  std::cout << "two ranks vs one: parameters differ by at most " << largest << "\n";
  for (std::int64_t s = 0; s < steps; ++s) {
    EXPECT_NEAR(first.losses[s], alone.losses[s], 1e-6) << "step " << s;
    EXPECT_EQ(first.losses[s], second.losses[s]) << "step " << s;
  }
  // The steps moved the adapter (B starts at zero): equal parameters are not untrained ones.
  EXPECT_GT(alone.parameters.back().abs().max().item<double>(), 1e-4);
}

// Accumulating two micro-batches of one row each per rank is the same again.
TEST(data_parallel, ranks_with_gradient_accumulation_match_too) {
  auto alone = train(0, 1, 1, nullptr);
  auto first = two_ranks("ddp-accumulate", 2).first;
  for (std::size_t i = 0; i < alone.parameters.size(); ++i)
    EXPECT_LT((first.parameters[i] - alone.parameters[i]).abs().max().item<double>(), 1e-6);
}

TEST(data_parallel, a_rank_that_never_comes_fails_the_join_with_c10ds_error) {
  auto dir = test::scratch_dir("ddp-alone");
  try {
    rank_group group((dir / "store").string(), 0, 2, "127.0.0.1", std::chrono::milliseconds{800});
    FAIL() << "joined a group of two alone";
  } catch (const std::exception& e) {
    EXPECT_FALSE(std::string{e.what()}.empty());
  }
}
