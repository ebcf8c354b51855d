#include "core/pipeline_run.hpp"

#include <gtest/gtest.h>

namespace {

using nlohmann::json;
using namespace expd::core;

unix_micros at(const char* rfc3339) {
  return *parse_rfc3339(rfc3339);
}

pipeline_spec spec() {
  return parse_pipeline_document(
           {{"pipelines",
             {{{"name", "daily"},
               {"schedule", "0 3 * * *"},
               {"steps",
                {{{"name", "build"}, {"kind", "dataset"}, {"dataset", "planner"}, {"window", "1d"}},
                 {{"name", "train"},
                  {"kind", "train"},
                  {"from_step", "build"},
                  {"job", {{"name", "lora"}, {"base_model", "m"}, {"max_steps", 1}}}}}}}}}})
    .front();
}

TEST(pipeline_run, a_slot_is_due_once_and_after_the_schedule_was_set) {
  auto s = parse_cron("0 3 * * *");
  auto since = at("2025-01-01T00:00:00Z");
  auto started = at("2025-01-05T10:00:00Z");
  // The node runs: the slot of today, once.
  auto due = find_due_run(s, since, at("2025-01-05T03:00:00Z"), at("2025-01-06T03:00:20Z"), started);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->scheduled_for, at("2025-01-06T03:00:00Z"));
  EXPECT_EQ(due->trigger, run_trigger::schedule);
  EXPECT_FALSE(find_due_run(s, since, at("2025-01-06T03:00:00Z"), at("2025-01-06T03:05:00Z"), started));
  // A pipeline applied after today's slot waits for tomorrow's.
  EXPECT_FALSE(find_due_run(s, at("2025-01-06T04:00:00Z"), std::nullopt, at("2025-01-06T05:00:00Z"), started));
}

TEST(pipeline_run, slots_missed_while_the_node_was_down_run_once_as_a_catch_up) {
  auto s = parse_cron("0 3 * * *");
  // Down from the 2nd to the 5th: four slots missed, one catch-up for the latest.
  auto started = at("2025-01-05T10:00:00Z");
  auto due = find_due_run(s, at("2025-01-01T00:00:00Z"), at("2025-01-01T03:00:00Z"), at("2025-01-05T10:00:01Z"),
                          started);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->scheduled_for, at("2025-01-05T03:00:00Z"));
  EXPECT_EQ(due->trigger, run_trigger::catch_up);
  // Once made, it is the last slot: nothing more until tomorrow.
  EXPECT_FALSE(find_due_run(s, at("2025-01-01T00:00:00Z"), due->scheduled_for, at("2025-01-05T10:00:20Z"), started));
}

TEST(pipeline_run, steps_go_in_order_and_a_failure_ends_the_run) {
  auto run = new_run(spec(), "R", at("2025-01-06T03:00:00Z"), run_trigger::manual, "local");
  ASSERT_EQ(run.steps.size(), 2u);
  auto move = next_move(run);
  EXPECT_EQ(move.kind, run_move_kind::start_step);
  EXPECT_EQ(move.step, 0u);
  run.steps[0].status = step_status::succeeded;
  run.steps[0].outputs = {{"path", "/d/training.parquet"}};
  move = next_move(run);
  EXPECT_EQ(move.kind, run_move_kind::start_step);
  EXPECT_EQ(move.step, 1u);
  EXPECT_EQ(step_inputs(run, 1)["path"], "/d/training.parquet");
  run.steps[1].status = step_status::failed;
  run.steps[1].error = "training job J failed: out of memory";
  move = next_move(run);
  EXPECT_EQ(move.kind, run_move_kind::fail);
  EXPECT_EQ(move.reason, "step train failed: training job J failed: out of memory");
  run.steps[1].status = step_status::succeeded;
  EXPECT_EQ(next_move(run).kind, run_move_kind::succeed);
}

TEST(pipeline_run, a_restart_resumes_without_redoing_or_resubmitting) {
  auto run = new_run(spec(), "R", at("2025-01-06T03:00:00Z"), run_trigger::schedule, "local");
  run.status = run_status::running;
  // Killed mid-build: the build runs again (idempotent for the day).
  run.steps[0].status = step_status::running;
  EXPECT_EQ(next_move(run).kind, run_move_kind::start_step);
  EXPECT_EQ(next_move(run).step, 0u);
  // Killed after the build: the build is not redone.
  run.steps[0].status = step_status::succeeded;
  run.steps[1].status = step_status::running;
  EXPECT_EQ(next_move(run).kind, run_move_kind::start_step);
  EXPECT_EQ(next_move(run).step, 1u);
  // Killed with the job submitted: it is followed by its id.
  run.steps[1].outputs["job_id"] = "J";
  auto move = next_move(run);
  EXPECT_EQ(move.kind, run_move_kind::follow_job);
  EXPECT_EQ(move.job_id, "J");
  // Steps that do not match the spec cannot be resumed.
  run.steps.pop_back();
  EXPECT_EQ(next_move(run).kind, run_move_kind::fail);
}

TEST(pipeline_run, steps_read_back_as_they_were_written) {
  auto run = new_run(spec(), "R", at("2025-01-06T03:00:00Z"), run_trigger::catch_up, "n1");
  run.steps[0].status = step_status::succeeded;
  run.steps[0].outputs = {{"rows", 3}};
  run.steps[0].started_at = at("2025-01-06T03:00:01Z");
  run.steps[0].finished_at = at("2025-01-06T03:00:09Z");
  auto steps = parse_run_steps(run_steps_json(run.steps));
  EXPECT_EQ(run_steps_json(steps), run_steps_json(run.steps));
  auto doc = pipeline_run_json(run);
  EXPECT_EQ(doc["trigger"], "catch_up");
  EXPECT_EQ(doc["status"], "queued");
  EXPECT_EQ(doc["outputs"], (json{{"build", {{"rows", 3}}}}));
  EXPECT_EQ(doc["started_at"], nullptr);
  EXPECT_EQ(doc["inputs"]["pipeline"]["name"], "daily");
  EXPECT_THROW(parse_run_status("paused"), std::invalid_argument);
  EXPECT_EQ(parse_run_trigger("manual"), run_trigger::manual);
}

} // namespace
