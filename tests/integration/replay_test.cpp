// Offline replay on a real expd, expd-trainer (its model host) and MLflow: two versions
// trained on the tiny checkpoint replay a dataset version; the scores land in
// exp.offline_replay_results and an MLflow run; a candidate that passes gets
// stage=candidate and @candidate, one that fails does not and the replay says which
// criterion failed; bad requests are refused naming the field.
#include <csignal>
#include <ctime>
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/integration/expd_process.hpp"
#include "tests/integration/trainer_process.hpp"
#include "tests/support/run_command.hpp"

using namespace expd::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string replays = "/admin/v1/replays";

class replay : public ::testing::Test {
protected:
  void SetUp() override {
    inputs();
    dir = fs::temp_directory_path() / ("expd-replay-" + std::to_string(::getpid()) + "-"
                                       + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "store" / "datasets" / "planner" / "2026-12-01");
    // The planner domain (recipes and exclusions are what scoring reads).
    run_ok(std::string{EXPD_CORPUS_BINARY} + " --format=domain --rows=8 --seed=7 --start=2026-11-01T00:00:00Z --out="
           + (dir / "domain").string());
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -f " + EXPD_SOURCE_DIR + "/sql/domain/planner_schema.sql");
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -v dir=" + (dir / "domain").string() + " -f "
           + EXPD_SOURCE_DIR + "/sql/domain/planner_seed.sql");
    node = std::make_unique<expd_process>(
      db, std::vector<std::string>{"--trainer-listen=" + listen, "--datasets=" + (dir / "store").string(),
                                   "--model-cache=" + (dir / "models").string(), "--replay-poll-ms=200",
                                   "--archive=off", "--mlflow=" + required_env("MLFLOW_TRACKING_URI", "MLflow")});
    // The corpus dataset stored as version planner/2026-12-01, as a build would leave it
    // (dataset_build_test covers the build itself).
    fs::copy_file(inputs().dataset, dir / "store" / "datasets" / "planner" / "2026-12-01" / "training.parquet");
    db.scalar("INSERT INTO exp.datasets (name, version, window_from, window_to, validation_fraction, rows,"
              " train_rows, validation_rows, content_hash, query_hash, data_uri, manifest, built_at) VALUES"
              " ('planner', '2026-12-01', '2026-11-01', '2026-12-01', 0.2, 96, 77, 19, 'x', 'x', 'file://"
              + (dir / "store" / "datasets" / "planner" / "2026-12-01" / "training.parquet").string()
              + "', '{}', now())");
    trainer = std::make_unique<child>(std::vector<std::string>{EXPD_TRAINER_BINARY, "--registry=" + listen,
                                                               "--threads=1", "--workers=2", "--max-models=2"},
                                      (dir / "trainer.log").string());
  }

  // Trains a version of `model` for `steps` steps and waits for it to be registered.
  void train(const std::string& model, std::uint64_t steps, const std::string& name) {
    auto doc = job_of(name, dir / name, steps);
    doc["mlflow"] = {{"experiment", model}, {"register_model", model}, {"tags", {{"policy_id", "planner_policy"}}}};
    auto created = node->request("POST", "/admin/v1/training-jobs", doc.dump(), true);
    ASSERT_EQ(created.status, 201) << created.body;
    jobs.push_back(created.json()["id"]);
  }

  // Waits for the jobs to succeed and for `model` to have `versions` versions in MLflow.
  void wait_for_jobs(const std::string& model, int versions) {
    for (auto& id : jobs) {
      json last;
      eventually([&] { return (last = node->request("GET", "/admin/v1/training-jobs/" + id, "", true).json())["status"]
                              == "succeeded"; },
                 1800);
      ASSERT_EQ(last["status"], "succeeded") << last.dump() << "\n" << read_file((dir / "trainer.log").string());
    }
    jobs.clear();
    EXPECT_TRUE(eventually([&] { return registered_version(model, versions).is_object(); }, 300))
      << model << " has no version " << versions << " in MLflow";
  }

  // The replay once it ended.
  json finished(const std::string& id) {
    json last;
    eventually(
      [&] {
        last = node->request("GET", replays + "/" + id, "", true).json();
        return last["status"] == "succeeded" || last["status"] == "failed";
      },
      3000);
    return last;
  }

  // The URL of a run's artifacts through MLflow's artifact proxy.
  std::string artifacts_url(const std::string& run_id) {
    auto mlflow = required_env("MLFLOW_TRACKING_URI", "MLflow");
    auto run = json::parse(
      expd::test::run_command("curl -s '" + mlflow + "/api/2.0/mlflow/runs/get?run_id=" + run_id + "'").out, nullptr,
      false);
    std::string uri = run["run"]["info"]["artifact_uri"]; // mlflow-artifacts:/EXP/RUN/artifacts
    return mlflow + "/api/2.0/mlflow-artifacts/artifacts/" + uri.substr(std::string{"mlflow-artifacts:/"}.size());
  }

  // The predictions.jsonl artifact of a replay's MLflow run, a JSON object a line.
  std::vector<json> predictions(const std::string& run_id) {
    auto file = expd::test::run_command("curl -s '" + artifacts_url(run_id) + "/predictions.jsonl'").out;
    std::vector<json> out;
    std::size_t at = 0;
    for (auto end = file.find('\n'); end != std::string::npos; at = end + 1, end = file.find('\n', at))
      out.push_back(json::parse(file.substr(at, end - at), nullptr, false));
    return out;
  }

  // Versions 1 and 2 of `model`, three steps each.
  void two_versions(const std::string& model) {
    train(model, 3, "first");
    wait_for_jobs(model, 1);
    train(model, 3, "second");
    wait_for_jobs(model, 2);
  }

  scratch_database db;
  std::string listen = "127.0.0.1:" + std::to_string(free_port());
  fs::path dir;
  std::unique_ptr<expd_process> node;
  std::unique_ptr<child> trainer;
  std::vector<std::string> jobs;
};

TEST_F(replay, two_trained_versions_replay_a_dataset_and_the_gates_decide) {
  const auto model = unique_name("replay_model");
  // One after the other, so the baseline is version 1 and the longer-trained candidate 2.
  train(model, 3, "baseline");
  wait_for_jobs(model, 1);
  train(model, 12, "candidate");
  wait_for_jobs(model, 2);
  std::string baseline = model + "/1", candidate = model + "/2";

  // Strict gates (the spec's minimum): a tiny model trained a few steps writes plans
  // that break constraints, so the candidate is refused, naming the criterion.
  json strict = {{"candidate", candidate}, {"baseline", baseline}, {"dataset", "planner/2026-12-01"},
                 {"max_rows", 8}, {"max_new_tokens", 40}};
  auto queued = node->request("POST", replays, strict.dump(), true);
  ASSERT_EQ(queued.status, 202) << queued.body;
  EXPECT_TRUE(queued.json()["status"] == "queued" || queued.json()["status"] == "running") << queued.body;
  auto refused = finished(queued.json()["id"]);
  ASSERT_EQ(refused["status"], "succeeded") << refused.dump() << "\n" << read_file((dir / "trainer.log").string());
  auto& summary = refused["summary"];
  EXPECT_EQ(summary["rows"], 8);
  ASSERT_EQ(summary["metrics"].size(), 5u);
  auto violations = summary["violations"]["candidate"]["total"].get<int>();
  if (violations > 0) {
    EXPECT_EQ(refused["verdict"], "refused");
    EXPECT_NE(summary["failed"][0].get<std::string>().find("constraints in 8 rows"), std::string::npos)
      << summary.dump();
  }
  for (auto& m : summary["metrics"]) {
    EXPECT_GE(m["candidate"].get<double>(), 0);
    EXPECT_LE(m["candidate"].get<double>(), 1);
    EXPECT_LE(m["difference_low"].get<double>(), m["difference"].get<double>() + 1e-12);
    EXPECT_GE(m["difference_high"].get<double>(), m["difference"].get<double>() - 1e-12);
  }
  auto id = refused["id"].get<std::string>();
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.offline_replay_results WHERE replay_id = '" + id + "'"), "10");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.offline_replay_results WHERE replay_id = '" + id
                      + "' AND role = 'candidate' AND difference IS NOT NULL"),
            "5");
  ASSERT_FALSE(refused.value("mlflow_run_id", "").empty()) << refused.dump();
  // The run's predictions: every row planned by both models, which are different models.
  auto lines = predictions(refused["mlflow_run_id"]);
  ASSERT_EQ(lines.size(), 8u);
  int differ = 0;
  for (auto& line : lines) {
    EXPECT_TRUE(line["candidate"]["plan"].is_string());
    EXPECT_FALSE(line["input"].get<std::string>().empty());
    differ += line["candidate"]["plan"] != line["baseline"]["plan"] ? 1 : 0;
  }
  EXPECT_GT(differ, 0) << "the two versions wrote the same plans: were both adapters loaded?";
  if (refused["verdict"] == "refused") {
    auto v = registered_version(model, 2);
    EXPECT_FALSE(has_alias(v, "candidate")) << v.dump();
    EXPECT_FALSE(has_tag(v, "stage", "candidate")) << v.dump();
  }

  // Gates loosened to what the tiny model can meet: accepted, tagged and aliased.
  json loose = strict;
  loose["criteria"] = {{"max_violations", 100000},
                       {"alignment_tolerance", 1},
                       {"edit_distance_tolerance", 1},
                       {"variety_tolerance", 1},
                       {"leftovers_tolerance", 1}};
  auto second = node->request("POST", replays, loose.dump(), true);
  ASSERT_EQ(second.status, 202) << second.body;
  auto accepted = finished(second.json()["id"]);
  ASSERT_EQ(accepted["status"], "succeeded") << accepted.dump();
  EXPECT_EQ(accepted["verdict"], "accepted") << accepted.dump();
  // The same models and rows score the same (greedy decoding, the cached models).
  EXPECT_EQ(accepted["summary"]["metrics"][0]["candidate"], summary["metrics"][0]["candidate"]);
  auto v = registered_version(model, 2);
  EXPECT_TRUE(has_alias(v, "candidate")) << v.dump();
  EXPECT_TRUE(has_tag(v, "stage", "candidate")) << v.dump();

  // Aliases resolve to their version when the replay is stored.
  json by_alias = strict;
  by_alias["baseline"] = model + "@candidate";
  by_alias["candidate"] = model + "/1";
  auto third = node->request("POST", replays, by_alias.dump(), true);
  ASSERT_EQ(third.status, 202) << third.body;
  EXPECT_EQ(third.json()["baseline"], model + "/2");
  finished(third.json()["id"]);

  auto listed = node->request("GET", replays, "", true).json();
  EXPECT_EQ(listed["replays"].size(), 3u);
}

TEST_F(replay, bad_requests_are_refused_naming_the_field_and_nothing_is_stored) {
  const auto model = unique_name("replay_bad");
  train(model, 3, "only");
  wait_for_jobs(model, 1);
  auto refused = [&](const json& body, int status, const std::string& code_and_field) {
    auto r = node->request("POST", replays, body.dump(), true);
    EXPECT_EQ(r.status, status) << body.dump() << " -> " << r.body;
    EXPECT_EQ(error_code_and_field(r), code_and_field) << r.body;
  };
  json ok = {{"candidate", model + "/1"}, {"baseline", model + "/1"}, {"dataset", "planner/2026-12-01"}};
  refused(ok, 400, "invalid_field baseline");
  refused({{"candidate", model + "/9"}, {"baseline", model + "/1"}, {"dataset", "planner/2026-12-01"}}, 400,
          "invalid_field candidate");
  refused({{"candidate", model + "@production"}, {"baseline", model + "/1"}, {"dataset", "planner/2026-12-01"}},
          400, "invalid_field candidate");
  refused({{"candidate", "nosuchmodel/1"}, {"baseline", model + "/1"}, {"dataset", "planner/2026-12-01"}}, 400,
          "invalid_field candidate");
  refused({{"candidate", model + "/2"}, {"baseline", model + "/1"}, {"dataset", "planner/2026-12-01"}}, 400,
          "invalid_field candidate");
  refused({{"candidate", model + "/1"}, {"baseline", "x/1"}, {"dataset", "planner"}}, 400, "invalid_field dataset");
  refused({{"candidate", model + "/1"}, {"baseline", "x/2"}, {"dataset", "planner/2026-12-01"}, {"max_rows", -1}},
          400, "invalid_field max_rows");
  auto malformed = node->request("POST", replays, "{\"candidate\":", true);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(node->request("GET", replays + "/not-a-uuid", "", true).status, 400);
  EXPECT_EQ(node->request("GET", replays + "/00000000-0000-0000-0000-000000000000", "", true).status, 404);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.replays"), "0");
}

TEST_F(replay, a_version_whose_adapter_is_gone_is_refused_naming_it) {
  const auto model = unique_name("replay_gone");
  two_versions(model);
  // Its adapter files deleted through MLflow's artifact proxy.
  auto base = artifacts_url(registered_version(model, 2)["run_id"].get<std::string>());
  for (auto* file : {"adapter/adapter_model.safetensors", "adapter/adapter_config.json"})
    run_ok("curl -sf -X DELETE '" + base + "/" + file + "'");
  auto r = node->request("POST", replays,
                         json{{"candidate", model + "/2"}, {"baseline", model + "/1"}, {"dataset", "planner/2026-12-01"}}
                           .dump(),
                         true);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code_and_field(r), "invalid_field candidate") << r.body;
  EXPECT_NE(r.body.find("no adapter/ artifacts left"), std::string::npos) << r.body;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.replays"), "0");
}

TEST_F(replay, a_replay_cut_off_by_a_restart_runs_again_to_its_verdict) {
  const auto model = unique_name("replay_restart");
  two_versions(model);
  auto queued = node->request("POST", replays,
                              json{{"candidate", model + "/2"},
                                   {"baseline", model + "/1"},
                                   {"dataset", "planner/2026-12-01"},
                                   {"max_new_tokens", 200}}
                                .dump(),
                              true);
  ASSERT_EQ(queued.status, 202) << queued.body;
  const std::string id = queued.json()["id"];
  ASSERT_TRUE(eventually([&] { return node->request("GET", replays + "/" + id, "", true).json()["status"] == "running"; }));
  node->kill();
  trainer->kill(SIGKILL);
  EXPECT_EQ(db.scalar("SELECT status FROM exp.replays WHERE id = '" + id + "'"), "running");
  node->start();
  trainer = std::make_unique<child>(std::vector<std::string>{EXPD_TRAINER_BINARY, "--registry=" + listen,
                                                             "--threads=1", "--workers=1"},
                                    (dir / "trainer.log").string());
  auto done = finished(id);
  EXPECT_EQ(done["status"], "succeeded") << done.dump();
  EXPECT_EQ(done["attempts"], 2) << done.dump();
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.offline_replay_results WHERE replay_id = '" + id + "'"), "10");
}

} // namespace
