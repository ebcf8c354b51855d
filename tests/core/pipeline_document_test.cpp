#include "core/pipeline_document.hpp"

#include <gtest/gtest.h>

#include "core/field_error.hpp"

namespace {

using nlohmann::json;
using namespace expd::core;

json train_job() {
  return {{"name", "planner-lora"}, {"base_model", "var/models/tiny"}, {"output", "var/training/daily"},
          {"max_steps", 2}, {"mlflow", {{"tags", {{"policy_id", "planner_policy"}}}}}};
}

json example() {
  return {{"pipelines",
           {{{"name", "planner_daily"},
             {"schedule", "15 3 * * *"},
             {"steps",
              {{{"name", "build"}, {"kind", "dataset"}, {"dataset", "planner"}, {"window", "7d"}},
               {{"name", "train"}, {"kind", "train"}, {"from_step", "build"}, {"job", train_job()}}}}}}}};
}

// "FIELD: message" of the refusal, or "" when the document is taken.
std::string refusal(const json& doc) {
  try {
    parse_pipeline_document(doc);
  } catch (const field_error& e) {
    return e.field() + ": " + e.what();
  }
  return "";
}

TEST(pipeline_document, reads_the_example_and_writes_it_back) {
  auto specs = parse_pipeline_document(example());
  ASSERT_EQ(specs.size(), 1u);
  auto& p = specs[0];
  EXPECT_EQ(p.name, "planner_daily");
  EXPECT_TRUE(p.enabled);
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].kind, pipeline_step_kind::dataset);
  EXPECT_EQ(p.steps[0].dataset.window_seconds, 7 * 86400);
  EXPECT_DOUBLE_EQ(p.steps[0].dataset.validation, 0.1);
  EXPECT_EQ(p.steps[1].kind, pipeline_step_kind::train);
  EXPECT_EQ(p.steps[1].train.from_step, "build");
  // What is stored reads back as the same spec.
  auto again = parse_pipeline_document(json{{"pipelines", {pipeline_spec_json(p)}}});
  EXPECT_EQ(pipeline_spec_json(again[0]), pipeline_spec_json(p));
}

TEST(pipeline_document, refusals_name_the_field) {
  auto with = [](const char* pointer, json value) {
    auto doc = example();
    doc[json::json_pointer{pointer}] = std::move(value);
    return refusal(doc);
  };
  EXPECT_EQ(with("/pipelines/0/schedule", "61 * * * *"),
            "pipelines[0].schedule: \"61 * * * *\": the minute field: 61 is outside 0-59");
  EXPECT_EQ(with("/pipelines/0/steps/0/kind", "replay"),
            "pipelines[0].steps[0].kind: unknown step kind \"replay\" (dataset or train)");
  EXPECT_EQ(with("/pipelines/0/steps/1/from_step", "missing"),
            "pipelines[0].steps[1].from_step: from_step must name an earlier dataset step of the pipeline, not "
            "\"missing\"");
  EXPECT_EQ(with("/pipelines/0/steps/1/from_step", "train"),
            "pipelines[0].steps[1].from_step: from_step must name an earlier dataset step of the pipeline, not "
            "\"train\"");
  EXPECT_EQ(with("/pipelines/0/steps/0/window", "2y"),
            "pipelines[0].steps[0].window: pipelines[0].steps[0].window must be a duration like 7d, 24h, 90m or "
            "seconds, from 1 minute to 92 days");
  EXPECT_EQ(with("/pipelines/0/steps/0/window", "93d").substr(0, 30), "pipelines[0].steps[0].window: ");
  EXPECT_EQ(with("/pipelines/0/steps/0/dataset", "orders"),
            "pipelines[0].steps[0].dataset: no dataset is named \"orders\" (known: planner)");
  EXPECT_EQ(with("/pipelines/0/steps/0/validation", 1), "pipelines[0].steps[0].validation: validation must be a "
                                                         "number from 0 up to (not including) 1");
  EXPECT_EQ(with("/pipelines/0/steps/1/name", "build"), "pipelines[0].steps[1].name: duplicate step name \"build\"");
  EXPECT_EQ(with("/pipelines/0/steps/1/job/dataset", "x.parquet"),
            "pipelines[0].steps[1].job.dataset: give either job.dataset or from_step, not both");
  EXPECT_EQ(with("/pipelines/0/steps/1/job/batch_size", 0).substr(0, 37), "pipelines[0].steps[1].job.batch_size:");
  EXPECT_EQ(with("/pipelines/0/enabled", "yes"), "pipelines[0].enabled: enabled must be true or false");
  EXPECT_EQ(with("/pipelines/0/steps", json::array()),
            "pipelines[0].steps: steps must be a list of at least one step");
  EXPECT_EQ(with("/pipelines/0/owner", "me").substr(0, 19), "pipelines[0].owner:");
  auto two = example();
  two["pipelines"].push_back(two["pipelines"][0]);
  EXPECT_EQ(refusal(two), "pipelines[1].name: duplicate pipeline name \"planner_daily\"");
  // Without from_step the job names its own dataset.
  auto own = example();
  own["pipelines"][0]["steps"][1].erase("from_step");
  EXPECT_EQ(refusal(own), "pipelines[0].steps[1].job.dataset: dataset is required");
  own["pipelines"][0]["steps"][1]["job"]["dataset"] = "var/datasets/fixed.parquet";
  EXPECT_EQ(refusal(own), "");
}

TEST(pipeline_document, plans_created_updated_and_unchanged) {
  auto specs = parse_pipeline_document(example());
  EXPECT_EQ(plan_pipelines(specs, {})[0].action, apply_action::created);
  stored_pipeline stored{specs[0], 0, "", ""};
  EXPECT_EQ(plan_pipelines(specs, {stored})[0].action, apply_action::unchanged);
  auto changed = specs;
  changed[0].schedule = parse_cron("0 4 * * *");
  EXPECT_EQ(plan_pipelines(changed, {stored})[0].action, apply_action::updated);
}

TEST(pipeline_document, a_dataset_step_reads_the_window_before_the_scheduled_time) {
  auto specs = parse_pipeline_document(example());
  auto t = *parse_rfc3339("2025-01-13T03:15:00Z");
  auto r = dataset_request_for(specs[0].steps[0].dataset, t);
  EXPECT_EQ(r.name, "planner");
  EXPECT_EQ(format_rfc3339(r.from), "2025-01-06T03:15:00.000000Z");
  EXPECT_EQ(r.to, t);
}

TEST(pipeline_document, a_train_step_takes_the_file_its_from_step_built) {
  auto specs = parse_pipeline_document(example());
  auto& train = specs[0].steps[1].train;
  auto outputs = dataset_step_outputs({{"dataset_version", "planner/2025-01-13"},
                                       {"version", "2025-01-13"},
                                       {"uri", "file:///srv/var/datasets/planner/2025-01-13/training.parquet"},
                                       {"rows", 42},
                                       {"created", true}});
  EXPECT_EQ(outputs["path"], "/srv/var/datasets/planner/2025-01-13/training.parquet");
  auto job = train_job_for(train, "RUN", outputs);
  EXPECT_EQ(job["name"], "planner-lora-RUN");
  EXPECT_EQ(job["name"], train_job_name(train, "RUN"));
  EXPECT_EQ(job["dataset"], "/srv/var/datasets/planner/2025-01-13/training.parquet");
  EXPECT_EQ(job["output"], "var/training/daily/RUN");
  EXPECT_EQ(job["mlflow"]["tags"]["dataset_version"], "planner/2025-01-13");
  EXPECT_EQ(job["mlflow"]["tags"]["policy_id"], "planner_policy");
  // Object storage: training reads local files only.
  auto s3 = dataset_step_outputs({{"uri", "s3://bucket/datasets/planner/2025-01-13/training.parquet"}});
  EXPECT_EQ(s3["path"], "");
  EXPECT_THROW(train_job_for(train, "RUN", s3), std::invalid_argument);
}

} // namespace
