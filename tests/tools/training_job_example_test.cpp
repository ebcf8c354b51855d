#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/training_job.hpp"
#include "tools/yaml_json.hpp"

using namespace expd;

// jobs/planner-lora.example.yml is what `expctl train -f` sends: YAML as expctl reads it.
TEST(training_job_example, the_example_job_reads_and_writes_back_every_field) {
  std::string here = __FILE__;
  auto root = here.substr(0, here.rfind("/tests/"));
  std::ifstream in(root + "/jobs/planner-lora.example.yml");
  std::stringstream text;
  text << in.rdbuf();
  auto doc = tools::yaml_text_to_json(text.str());
  auto job = core::parse_training_job(doc);
  EXPECT_EQ(job.name, "planner-lora-example");
  EXPECT_EQ(job.lora.rank, 8u);
  EXPECT_EQ(job.lora.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(job.optimizer.warmup_steps, 10u);
  EXPECT_EQ(job.epochs, 1u);
  EXPECT_FALSE(job.max_steps);
  // What status shows is what was asked for, field by field.
  EXPECT_EQ(core::training_job_json(job), doc);
}

