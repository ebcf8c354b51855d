#include <gtest/gtest.h>

#include "core/training_job.hpp"
#include "core/training_tracking.hpp"

using namespace expd;

namespace {

core::training_job job() {
  return core::parse_training_job(
    {{"name", "planner-lora"}, {"dataset", "d.parquet"}, {"base_model", "m"}, {"epochs", 2},
     {"optimizer", {{"learning_rate", 0.0002}}},
     {"mlflow", {{"tags", {{"policy_id", "planner_policy"}, {"dataset_version", "2026-12-01"}, {"task", "plan"}}}}}});
}

} // namespace

// Spec 8's minimum: params learning rate, batch size, epochs and dataset version; tags
// policy_id, dataset_version and task.
TEST(training_tracking, the_run_carries_spec_8s_minimum_and_the_job_id) {
  auto params = core::training_run_params(job());
  EXPECT_EQ(params.at("learning_rate"), "0.0002");
  EXPECT_EQ(params.at("batch_size"), "8");
  EXPECT_EQ(params.at("epochs"), "2");
  EXPECT_EQ(params.count("max_steps"), 0u);
  EXPECT_EQ(params.at("dataset_version"), "2026-12-01");
  EXPECT_EQ(params.at("lora_target_modules"), "q_proj,v_proj");
  auto tags = core::training_run_tags(job(), "id-1");
  EXPECT_EQ(tags.at("policy_id"), "planner_policy");
  EXPECT_EQ(tags.at("task"), "plan");
  EXPECT_EQ(tags.at("expd.job_id"), "id-1");
  EXPECT_EQ(tags.at("mlflow.runName"), "planner-lora");
  auto version = core::model_version_tags(job(), "id-1");
  EXPECT_EQ(version.at("dataset_version"), "2026-12-01");
  EXPECT_EQ(version.at("base_model"), "m");
}

TEST(training_tracking, a_job_without_a_dataset_version_logs_none) {
  auto plain = core::parse_training_job({{"name", "j"}, {"dataset", "d"}, {"base_model", "m"}, {"max_steps", 5}});
  auto params = core::training_run_params(plain);
  EXPECT_EQ(params.count("dataset_version"), 0u);
  EXPECT_EQ(params.at("max_steps"), "5");
}
