#include <gtest/gtest.h>

#include <sstream>

#include "core/field_error.hpp"
#include "core/training_job.hpp"
#include "tests/support/python_reference.hpp"

using namespace expd;
using nlohmann::json;

namespace {

json minimal() {
  return {{"name", "j"}, {"dataset", "d.parquet"}, {"base_model", "m"}, {"max_steps", 100}};
}

// The field a document is refused for.
std::string refused_field(const json& doc) {
  try {
    core::parse_training_job(doc);
  } catch (const core::field_error& e) {
    return e.field();
  }
  return "(accepted)";
}

json with(json doc, const json::json_pointer& at, json value) {
  doc[at] = std::move(value);
  return doc;
}

json without(json doc, const std::string& key) {
  doc.erase(key);
  return doc;
}

} // namespace

TEST(training_job, defaults_fill_what_is_not_given) {
  auto job = core::parse_training_job(minimal());
  EXPECT_EQ(job.batch_size, 8u);
  EXPECT_EQ(job.lora.alpha, 16);
  EXPECT_EQ(job.optimizer.schedule, core::lr_schedule::cosine);
  EXPECT_EQ(job.dtype, core::precision::fp32);
  EXPECT_EQ(job.max_failures, 3u);
  EXPECT_EQ(core::parse_training_job(core::training_job_json(job)).max_steps, 100u);
}

TEST(training_job, each_bad_field_is_named) {
  using ptr = json::json_pointer;
  EXPECT_EQ(refused_field(json::array()), "");
  EXPECT_EQ(refused_field(without(minimal(), "dataset")), "dataset");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/base_model"}, "")), "base_model");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/name"}, "a b")), "name");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/epochs"}, 2)), "max_steps");
  EXPECT_EQ(refused_field(without(minimal(), "max_steps")), "epochs");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/batch_size"}, 0)), "batch_size");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/batch_size"}, 1 << 20)), "batch_size");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/batch_size"}, -1)), "batch_size");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/batch_size"}, 2.5)), "batch_size");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/sequence_length"}, 4)), "sequence_length");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/lora/rank"}, 0)), "lora.rank");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/lora/dropout"}, 1.0)), "lora.dropout");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/lora/alpha"}, 0)), "lora.alpha");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/lora/target_modules"}, {"q_proj", "qkv"})),
            "lora.target_modules[1]");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/lora/target_modules"}, {"q_proj", "q_proj"})),
            "lora.target_modules[1]");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/lora/target_modules"}, json::array())),
            "lora.target_modules");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/lora/ranks"}, 4)), "lora.ranks");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/optimizer/name"}, "sgd")), "optimizer.name");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/optimizer/learning_rate"}, 0)),
            "optimizer.learning_rate");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/optimizer/betas"}, {0.9, 1.0})),
            "optimizer.betas[1]");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/optimizer/schedule"}, "step")),
            "optimizer.schedule");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/optimizer/warmup_steps"}, 100)),
            "optimizer.warmup_steps");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/precision"}, "bf16")), "precision");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/precision"}, "fp8")), "precision");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/ranks"}, 0)), "ranks");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/learning_rate"}, 1)), "learning_rate");
  auto gpu = with(with(minimal(), ptr{"/precision"}, "bf16"), ptr{"/device"}, "cuda");
  EXPECT_EQ(refused_field(gpu), "(accepted)");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/seed"}, 18446744073709551615ull)), "(accepted)");
}

TEST(training_job, the_mlflow_block_names_where_the_run_goes_and_is_checked) {
  using ptr = json::json_pointer;
  auto plain = core::parse_training_job(minimal());
  EXPECT_EQ(plain.mlflow.experiment, "expd-training");
  EXPECT_TRUE(plain.mlflow.register_model.empty());
  auto doc = with(minimal(), ptr{"/mlflow"},
                  {{"experiment", "planner training"}, {"register_model", "planner_model"},
                   {"tags", {{"policy_id", "planner_policy"}, {"dataset_version", "2026-12-01"}}}});
  auto job = core::parse_training_job(doc);
  EXPECT_EQ(job.mlflow.experiment, "planner training");
  EXPECT_EQ(job.mlflow.register_model, "planner_model");
  EXPECT_EQ(job.mlflow.tags.at("dataset_version"), "2026-12-01");
  // What the registry stores is read back the same by the worker, "none" included.
  auto again = core::parse_training_job(core::training_job_json(job));
  EXPECT_EQ(again.mlflow.tags, job.mlflow.tags);
  EXPECT_EQ(again.mlflow.register_model, "planner_model");
  EXPECT_TRUE(core::parse_training_job(core::training_job_json(plain)).mlflow.register_model.empty());

  EXPECT_EQ(refused_field(with(minimal(), ptr{"/mlflow"}, 3)), "mlflow");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/mlflow/experiment"}, "")), "mlflow.experiment");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/mlflow/experiment"}, std::string(300, 'x'))),
            "mlflow.experiment");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/mlflow/register_model"}, "a model/3")),
            "mlflow.register_model");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/mlflow/tags"}, {{"task", 3}})), "mlflow.tags.task");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/mlflow/tags"}, json::array())), "mlflow.tags");
  EXPECT_EQ(refused_field(with(minimal(), ptr{"/mlflow/run"}, "x")), "mlflow.run");
}

TEST(training_job, steps_cover_every_row_of_each_epoch) {
  auto doc = without(minimal(), "max_steps");
  doc["epochs"] = 3;
  doc["batch_size"] = 4;
  doc["ranks"] = 2;
  doc["gradient_accumulation"] = 2;
  auto job = core::parse_training_job(doc);
  EXPECT_EQ(core::total_optimizer_steps(job, 16), 3u);
  EXPECT_EQ(core::total_optimizer_steps(job, 17), 6u);
  EXPECT_EQ(core::total_optimizer_steps(core::parse_training_job(minimal()), 17), 100u);
}

// Against PyTorch's own schedulers (Debian's python3-torch): the rate of every step.
TEST(training_job, the_learning_rate_follows_torchs_schedulers) {
  if (!test::python_has("torch"))
    GTEST_SKIP() << "/usr/bin/python3 with torch (python3-torch) is not installed";
  struct schedule_case {
    double peak;
    std::uint64_t warmup, total;
    const char* name;
    core::lr_schedule schedule;
    double min_ratio;
  };
  std::vector<schedule_case> cases{{1e-3, 10, 100, "cosine", core::lr_schedule::cosine, 0.1},
                                   {2e-4, 0, 57, "cosine", core::lr_schedule::cosine, 0},
                                   {5e-5, 3, 40, "linear", core::lr_schedule::linear, 0.25},
                                   {2e-4, 0, 50, "linear", core::lr_schedule::linear, 0},
                                   {1e-2, 5, 20, "constant", core::lr_schedule::constant, 0}};
  std::vector<std::string> lines;
  for (auto& c : cases) {
    std::ostringstream line;
    line.precision(17);
    line << c.peak << ' ' << c.warmup << ' ' << c.total << ' ' << c.name << ' ' << c.min_ratio;
    lines.push_back(line.str());
  }
  std::string here = __FILE__;
  auto out = test::run_python_file(here.substr(0, here.rfind('/')) + "/lr_schedule_reference.py",
                                   lines);
  ASSERT_EQ(out.size(), cases.size()) << "the reference script failed";
  for (std::size_t k = 0; k < cases.size(); ++k) {
    core::optimizer_spec opt;
    opt.learning_rate = cases[k].peak;
    opt.warmup_steps = cases[k].warmup;
    opt.schedule = cases[k].schedule;
    opt.min_lr_ratio = cases[k].min_ratio;
    std::istringstream in(out[k]);
    std::uint64_t step = 0;
    for (double expected; in >> expected; ++step)
      EXPECT_NEAR(core::learning_rate_at(opt, step, cases[k].total), expected, 1e-12 * cases[k].peak)
        << cases[k].name << " step " << step;
    EXPECT_EQ(step, cases[k].total + 1) << cases[k].name;
  }
}
