#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/training_batches.hpp"

using expd::core::training_batches;
using expd::core::training_job;

namespace {

training_job job_of(std::uint32_t batch, std::uint32_t ranks, std::uint32_t accumulation,
                    std::uint64_t seed = 5) {
  training_job job;
  job.batch_size = batch;
  job.ranks = ranks;
  job.gradient_accumulation = accumulation;
  job.seed = seed;
  job.epochs = 1;
  return job;
}

} // namespace

TEST(training_batches, every_row_once_per_epoch_across_ranks_and_micro_batches) {
  auto job = job_of(3, 2, 2);
  training_batches plan(job, 29);
  EXPECT_EQ(plan.steps_per_epoch(), 3u); // 12 rows a step
  EXPECT_EQ(plan.steps_per_epoch(), expd::core::total_optimizer_steps(job, 29));
  for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
    std::map<std::size_t, int> seen;
    for (std::uint64_t s = 0; s < plan.steps_per_epoch(); ++s)
      for (std::uint32_t r = 0; r < 2; ++r)
        for (auto& micro : plan.step_rows(epoch * plan.steps_per_epoch() + s, r)) {
          EXPECT_LE(micro.size(), 3u);
          for (auto row : micro)
            ++seen[row];
        }
    EXPECT_EQ(seen.size(), 29u) << "epoch " << epoch;
    for (auto& [row, n] : seen)
      EXPECT_EQ(n, 1) << "row " << row << " in epoch " << epoch;
  }
}

TEST(training_batches, epochs_are_shuffled_differently_and_the_seed_fixes_them) {
  training_batches a(job_of(4, 1, 1, 5), 50), b(job_of(4, 1, 1, 5), 50), c(job_of(4, 1, 1, 6), 50);
  EXPECT_EQ(a.epoch_order(0), b.epoch_order(0));
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1));
  EXPECT_NE(a.epoch_order(0), c.epoch_order(0));
  auto sorted = a.epoch_order(1);
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    EXPECT_EQ(sorted[i], i);
}

// Two ranks of batch b hold exactly the rows one rank of batch 2b holds in each step.
TEST(training_batches, two_ranks_split_the_step_of_one_rank_with_twice_the_batch) {
  training_batches one(job_of(4, 1, 1), 21), two(job_of(2, 2, 1), 21);
  ASSERT_EQ(one.steps_per_epoch(), two.steps_per_epoch());
  for (std::uint64_t s = 0; s < 2 * one.steps_per_epoch(); ++s) {
    auto all = one.step_rows(s, 0)[0];
    auto r0 = two.step_rows(s, 0)[0], r1 = two.step_rows(s, 1)[0];
    r0.insert(r0.end(), r1.begin(), r1.end());
    EXPECT_EQ(r0, all) << "step " << s;
  }
}

TEST(training_batches, the_last_step_of_an_epoch_may_leave_a_rank_without_rows) {
  training_batches plan(job_of(2, 2, 1), 5); // steps of 4 rows: 4, then 1
  EXPECT_EQ(plan.step_rows(1, 0)[0].size(), 1u);
  EXPECT_TRUE(plan.step_rows(1, 1)[0].empty());
  EXPECT_THROW(plan.step_rows(0, 2), std::invalid_argument);
  EXPECT_THROW(training_batches(job_of(2, 1, 1), 0), std::invalid_argument);
}
