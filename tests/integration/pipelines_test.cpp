// Pipelines on a schedule (docs/lifecycle.md, "Pipelines") on real expd processes and a
// real PostgreSQL: the planner domain seeded from the synthetic corpus and its events
// sent, then runs that build a dataset and train the tiny model on it with a real
// expd-trainer, a schedule firing once per slot across two nodes, a node killed between
// two steps that finishes the run after its restart without redoing the first, a slot
// missed while the node was down run once at start, and documents refused by field.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/rfc3339.hpp"
#include "runtime/wall_clock.hpp"
#include "tests/integration/event_helpers.hpp"
#include "tests/integration/expd_process.hpp"
#include "tests/integration/trainer_process.hpp"

namespace expd::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr core::unix_micros day_micros = 24LL * 3600 * 1000000;
constexpr int rows = 120;

std::string run_ok(const std::string& command) {
  auto r = run_command(command + " 2>&1");
  EXPECT_EQ(r.status, 0) << command << "\n" << r.out;
  return r.out;
}

// A dataset step over every event the fixture sent (they span the last 8 days).
json dataset_step(const std::string& name = "build") {
  return {{"name", name}, {"kind", "dataset"}, {"dataset", "planner"}, {"window", "10d"}, {"validation", 0.2}};
}

// Vectors, not braced json: a list of one item would read as that item.
json pipeline(const std::string& name, const std::string& schedule, std::vector<json> steps) {
  return {{"name", name}, {"schedule", schedule}, {"steps", std::move(steps)}};
}

// Never due in a test's time: only triggers run it.
constexpr const char* new_year = "0 0 1 1 *";

class pipelines : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("expd-pipelines-test-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "store");
    const auto now = runtime::now_micros();
    const auto start = now - now % day_micros - 8 * day_micros;
    run_ok(std::string{EXPD_CORPUS_BINARY} + " --format=domain --rows=" + std::to_string(rows) +
           " --seed=5 --start=" + core::format_rfc3339(start) + " --out=" + (dir / "domain").string());
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -f " + EXPD_SOURCE_DIR +
           "/sql/domain/planner_schema.sql");
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -v dir=" + (dir / "domain").string() + " -f " +
           EXPD_SOURCE_DIR + "/sql/domain/planner_seed.sql");
    node = std::make_unique<expd_process>(db, flags());
    prepare(*node);
    std::vector<json> events;
    std::ifstream in(dir / "domain" / "events.ndjson");
    for (std::string line; std::getline(in, line);)
      if (!line.empty())
        events.push_back(json::parse(line));
    for (std::size_t i = 0; i < events.size(); i += 50) {
      json batch = json::array();
      for (std::size_t j = i; j < std::min(events.size(), i + 50); ++j)
        batch.push_back(events[j]);
      ASSERT_EQ(post(*node, json{{"events", batch}}).status, 200);
    }
    ASSERT_TRUE(eventually([&] { return stored(db) == std::to_string(events.size()); })) << stored(db);
  }

  void TearDown() override {
    trainer.reset();
    second.reset();
    node.reset();
    fs::remove_all(dir);
  }

  // The node's flags; only one node listens for the trainer.
  std::vector<std::string> flags(std::vector<std::string> more = {}, bool trainer_listens = true) const {
    std::vector<std::string> out{"--datasets=" + (dir / "store").string(), "--archive=off",
                                 "--event-max-past-hours=336", "--pipeline-tick-ms=200"};
    if (trainer_listens)
      out.push_back("--trainer-listen=" + trainer_listen);
    out.insert(out.end(), more.begin(), more.end());
    return out;
  }

  // An expd-trainer for the node; it exits when the node goes, so a restart needs another.
  void start_trainer() {
    trainer = std::make_unique<child>(std::vector<std::string>{EXPD_TRAINER_BINARY, "--registry=" + trainer_listen,
                                                               "--threads=1", "--workers=1"},
                                      (dir / "trainer.log").string());
  }

  // Four steps of the tiny model on what step `from` built.
  json train_step(const std::string& from) const {
    auto job = job_of("planner-lora", dir / "training", 4);
    job.erase("dataset");
    return {{"name", "train"}, {"kind", "train"}, {"from_step", from}, {"job", job}};
  }

  http_reply apply(const std::vector<json>& pipelines_list, bool dry_run = false) const {
    return node->request("POST", std::string{"/admin/v1/pipelines/apply"} + (dry_run ? "?dry_run=true" : ""),
                         json{{"pipelines", pipelines_list}}.dump(), true);
  }

  json runs(const std::string& name, const expd_process& on) const {
    return on.request("GET", "/admin/v1/pipelines/" + name + "/runs", "", true).json()["runs"];
  }

  json run(const std::string& id) const {
    return node->request("GET", "/admin/v1/pipeline-runs/" + id, "", true).json();
  }

  // Waits until the run is succeeded or failed and returns it.
  json finished(const std::string& id, int seconds = 240) const {
    json last;
    eventually(
      [&] {
        last = run(id);
        return last["status"] == "succeeded" || last["status"] == "failed";
      },
      seconds * 10);
    return last;
  }

  std::string trainer_log() const {
    return read_file((dir / "trainer.log").string());
  }

  scratch_database db;
  fs::path dir;
  std::string trainer_listen = "127.0.0.1:" + std::to_string(free_port());
  std::unique_ptr<expd_process> node, second;
  std::unique_ptr<child> trainer;
};

TEST_F(pipelines, a_triggered_run_builds_a_dataset_and_trains_on_it) {
  start_trainer();
  auto applied = apply({pipeline("daily", new_year, {dataset_step(), train_step("build")})});
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(applied.json()["pipelines"][0]["action"], "created");
  EXPECT_EQ(apply({pipeline("daily", new_year, {dataset_step(), train_step("build")})}).json()["pipelines"][0]["action"],
            "unchanged");

  auto triggered = node->request("POST", "/admin/v1/pipelines/daily/trigger", "", true);
  ASSERT_EQ(triggered.status, 202) << triggered.body;
  EXPECT_EQ(triggered.json()["trigger"], "manual");
  auto done = finished(triggered.json()["id"]);
  ASSERT_EQ(done["status"], "succeeded") << done.dump(2) << "\ntrainer log:\n" << trainer_log();

  // The dataset step's file, which the train step's job trained on.
  auto& build = done["steps"][0];
  EXPECT_EQ(build["status"], "succeeded");
  const std::string path = build["outputs"]["path"];
  EXPECT_TRUE(fs::exists(path)) << path;
  EXPECT_EQ(build["outputs"]["created"], true);
  EXPECT_GT(build["outputs"]["rows"].get<int>(), 10);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.datasets"), "1");
  auto& train = done["steps"][1];
  EXPECT_EQ(train["status"], "succeeded");
  auto job = node->request("GET", "/admin/v1/training-jobs/" + train["outputs"]["job_id"].get<std::string>(), "", true)
               .json();
  EXPECT_EQ(job["status"], "succeeded");
  EXPECT_EQ(job["spec"]["dataset"], path);
  EXPECT_EQ(job["name"], "planner-lora-" + done["id"].get<std::string>());
  EXPECT_EQ(job["spec"]["mlflow"]["tags"]["dataset_version"], build["outputs"]["dataset_version"]);
  EXPECT_EQ(done["outputs"]["build"], build["outputs"]);
  EXPECT_EQ(db.scalar("SELECT status || ' ' || trigger FROM exp.pipeline_runs"), "succeeded manual");

  // What operators see.
  auto listed = run_expctl(*node, "pipelines runs daily");
  EXPECT_EQ(listed.status, 0) << listed.out;
  EXPECT_NE(listed.out.find(done["id"].get<std::string>()), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("build:succeeded,train:succeeded"), std::string::npos) << listed.out;
  auto metrics = node->request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("expd_pipeline_runs_started_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("expd_pipeline_runs_succeeded_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("expd_pipeline_runs_failed_total 0"), std::string::npos);
}

TEST_F(pipelines, a_schedule_fires_once_per_slot_across_two_nodes) {
  second = std::make_unique<expd_process>(db, flags({}, false));
  ASSERT_EQ(apply({pipeline("minutely", "* * * * *", {dataset_step()})}).status, 200);
  // The first slot after the apply (at most a minute away) gets one run, on one node.
  json made;
  ASSERT_TRUE(eventually(
    [&] {
      made = runs("minutely", *node);
      return !made.empty() && made.back()["status"] == "succeeded";
    },
    1500))
    << made.dump(2);
  auto first = made.back();
  EXPECT_EQ(first["trigger"], "schedule");
  EXPECT_EQ(core::parse_rfc3339(first["scheduled_for"].get<std::string>()).value() % 60000000, 0);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.pipeline_runs WHERE scheduled_for = '" +
                      first["scheduled_for"].get<std::string>() + "'"),
            "1");
  EXPECT_EQ(runs("minutely", *second).size(), made.size()); // both nodes read the same runs
  auto list = node->request("GET", "/admin/v1/pipelines", "", true).json()["pipelines"][0];
  EXPECT_EQ(list["schedule"], "* * * * *");
  EXPECT_TRUE(list["next_run_at"].is_string());
}

TEST_F(pipelines, a_node_killed_between_steps_finishes_the_run_after_its_restart_without_redoing_a_step) {
  node->set_flags(flags({"--failpoints=pipeline.after_step"}));
  node->stop();
  node->start();
  ASSERT_EQ(apply({pipeline("daily", new_year, {dataset_step(), train_step("build")})}).status, 200);
  auto triggered = node->request("POST", "/admin/v1/pipelines/daily/trigger", "", true);
  ASSERT_EQ(triggered.status, 202) << triggered.body;
  const std::string id = triggered.json()["id"];
  int status = 0;
  ASSERT_TRUE(node->wait_exit(std::chrono::seconds{120}, &status)) << "the failpoint was not reached";

  // Killed with the build recorded and the training not started.
  auto stored_steps = json::parse(db.scalar("SELECT steps::text FROM exp.pipeline_runs WHERE id = '" + id + "'"));
  EXPECT_EQ(db.scalar("SELECT status FROM exp.pipeline_runs WHERE id = '" + id + "'"), "running");
  EXPECT_EQ(stored_steps[0]["status"], "succeeded");
  EXPECT_EQ(stored_steps[1]["status"], "pending");

  node->set_flags(flags());
  node->start();
  start_trainer();
  auto done = finished(id);
  ASSERT_EQ(done["status"], "succeeded") << done.dump(2) << "\ntrainer log:\n" << trainer_log();
  // The build was not done again (a second build would answer created: false).
  EXPECT_EQ(done["steps"][0], stored_steps[0]);
  EXPECT_EQ(done["steps"][1]["status"], "succeeded");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.pipeline_runs"), "1");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.training_jobs"), "1");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.datasets"), "1");
}

TEST_F(pipelines, a_slot_missed_while_the_node_was_down_runs_once_at_start) {
  // Hourly at a minute half an hour from now: the latest slot is about 30 minutes ago.
  const auto now = runtime::now_micros();
  const auto minute = (now / 60000000 + 30) % 60;
  const auto schedule = std::to_string(minute) + " * * * *";
  ASSERT_EQ(apply({pipeline("hourly", schedule, {dataset_step()})}).status, 200);
  node->stop();
  // The pipeline existed for three hours while the node was down: three slots missed.
  db.scalar("UPDATE exp.pipelines SET schedule_since = now() - interval '3 hours'");
  node->start();
  json made;
  ASSERT_TRUE(eventually(
    [&] {
      made = runs("hourly", *node);
      return made.size() == 1 && made[0]["status"] == "succeeded";
    },
    600))
    << made.dump(2);
  EXPECT_EQ(made[0]["trigger"], "catch_up");
  auto slot = *core::parse_rfc3339(made[0]["scheduled_for"].get<std::string>());
  EXPECT_LT(slot, now);
  EXPECT_GT(slot, now - 3600LL * 1000000);
  EXPECT_EQ(slot / 60000000 % 60, minute);
  // Another restart finds the slot made: no second run. (The scheduler answers after
  // its first look at the pipelines, which its start queued first.)
  node->stop();
  node->start();
  EXPECT_EQ(runs("hourly", *node).size(), 1u);
}

TEST_F(pipelines, bad_documents_and_names_are_refused_naming_the_field) {
  auto refused = [&](const json& p) { return error_code_and_field(apply({p})); };
  EXPECT_EQ(refused(pipeline("p", "0 3 * * *", {{{"name", "r"}, {"kind", "replay"}}})),
            "invalid_field pipelines[0].steps[0].kind");
  EXPECT_EQ(refused(pipeline("p", "0 25 * * *", {dataset_step()})), "invalid_field pipelines[0].schedule");
  EXPECT_EQ(refused(pipeline("p", "0 3 * * *", {dataset_step(), train_step("nothing")})),
            "invalid_field pipelines[0].steps[1].from_step");
  auto bad_job = train_step("build");
  bad_job["job"]["batch_size"] = 0;
  EXPECT_EQ(refused(pipeline("p", "0 3 * * *", {dataset_step(), bad_job})),
            "invalid_field pipelines[0].steps[1].job.batch_size");
  auto message = apply({pipeline("p", "0 25 * * *", {dataset_step()})}).json()["error"]["message"];
  EXPECT_EQ(message, "\"0 25 * * *\": the hour field: 25 is outside 0-23");
  // A dry run checks and stores nothing.
  auto dry = apply({pipeline("p", "0 3 * * *", {dataset_step()})}, true);
  EXPECT_EQ(dry.status, 200);
  EXPECT_EQ(dry.json()["dry_run"], true);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.pipelines"), "0");

  EXPECT_EQ(error_code_and_field(node->request("POST", "/admin/v1/pipelines/nope/trigger", "", true)),
            "not_found name");
  EXPECT_EQ(node->request("POST", "/admin/v1/pipelines/nope/trigger", "", true).status, 404);
  EXPECT_EQ(error_code_and_field(node->request("GET", "/admin/v1/pipelines/nope/runs", "", true)), "not_found name");
  EXPECT_EQ(error_code_and_field(node->request("GET", "/admin/v1/pipeline-runs/not-a-uuid", "", true)),
            "invalid_field id");
  EXPECT_EQ(error_code_and_field(
              node->request("GET", "/admin/v1/pipeline-runs/00000000-0000-0000-0000-000000000000", "", true)),
            "not_found id");
  EXPECT_EQ(node->request("GET", "/admin/v1/pipelines/nope/trigger", "", true).status, 405);
  EXPECT_EQ(node->request("GET", "/admin/v1/pipelines", "", false).status, 401);

  // expctl applies the pipelines key after the others and says what the server refused.
  std::ofstream(dir / "bad.yml") << "pipelines:\n  - name: p\n    schedule: \"0 3 * * *\"\n    steps:\n"
                                    "      - {name: b, kind: dataset, dataset: planner, window: 7d}\n"
                                    "      - {name: t, kind: train, from_step: x, job: {name: j, base_model: m, max_steps: 1}}\n";
  auto out = run_expctl(*node, "apply -f " + (dir / "bad.yml").string());
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.out.find("pipelines[0].steps[1].from_step"), std::string::npos) << out.out;
  auto example = run_expctl(*node, std::string{"apply --dry-run -f "} + EXPD_SOURCE_DIR + "/config/pipelines.example.yml");
  EXPECT_EQ(example.status, 0) << example.out;
  EXPECT_NE(example.out.find("planner_daily"), std::string::npos) << example.out;
}

} // namespace
} // namespace expd::testing
