// The model lifecycle end to end (issue 16) on a real expd, expd-trainer, PostgreSQL and
// MLflow: the planner's events -> a dataset version -> a baseline and a candidate
// fine-tuned on it (tiny model, CPU) -> registered versions -> offline replay of the
// candidate against the baseline -> @candidate -> promotion at 10% -> guardrail holds ->
// raised -> production; and a worse candidate refused at replay, whose promotion is then
// refused too.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/rfc3339.hpp"
#include "runtime/wall_clock.hpp"
#include "tests/integration/expd_process.hpp"
#include "tests/integration/trainer_process.hpp"
#include "tests/support/run_command.hpp"

using namespace expd::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t day_micros = 24LL * 3600 * 1000000;

class whole_loop : public ::testing::Test {
protected:
  void SetUp() override {
    inputs();
    dir = fs::temp_directory_path() / ("expd-loop-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "store");
    // 200 planner requests about an hour apart, ending before today.
    const auto now = expd::runtime::now_micros();
    start = now - now % day_micros - 10 * day_micros;
    run_ok(std::string{EXPD_CORPUS_BINARY} + " --format=domain --rows=200 --seed=21 --start="
           + expd::core::format_rfc3339(start) + " --out=" + (dir / "domain").string());
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -f " + EXPD_SOURCE_DIR + "/sql/domain/planner_schema.sql");
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -v dir=" + (dir / "domain").string() + " -f "
           + EXPD_SOURCE_DIR + "/sql/domain/planner_seed.sql");
    node = std::make_unique<expd_process>(
      db, std::vector<std::string>{"--trainer-listen=" + listen, "--datasets=" + (dir / "store").string(),
                                   "--model-cache=" + (dir / "models").string(), "--replay-poll-ms=200",
                                   "--promotion-interval-ms=200", "--aggregate-interval-ms=200",
                                   "--event-max-past-hours=336", "--archive=off",
                                   "--mlflow=" + required_env("MLFLOW_TRACKING_URI", "MLflow")});
    trainer = std::make_unique<child>(std::vector<std::string>{EXPD_TRAINER_BINARY, "--registry=" + listen,
                                                               "--threads=1", "--workers=1"},
                                      (dir / "trainer.log").string());
  }

  void TearDown() override {
    trainer.reset();
    node.reset();
    fs::remove_all(dir);
  }

  http_reply admin(const std::string& method, const std::string& path, const json& body = nullptr) const {
    return node->request(method, path, body.is_null() ? "" : body.dump(), true);
  }

  // The planner service's events, as the corpus says it sent them.
  void send_planner_events() {
    std::ifstream in(dir / "domain" / "events.ndjson");
    json batch = json::array();
    std::size_t sent = 0;
    auto flush = [&] {
      auto r = node->request("POST", "/v1/events", json{{"events", batch}}.dump());
      ASSERT_EQ(r.status, 200) << r.body.substr(0, 400);
      sent += batch.size();
      batch = json::array();
    };
    for (std::string line; std::getline(in, line);) {
      if (line.empty())
        continue;
      batch.push_back(json::parse(line));
      if (batch.size() == 100)
        flush();
    }
    if (!batch.empty())
      flush();
    ASSERT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.events") == std::to_string(sent); }));
  }

  // Trains `steps` steps on `dataset` and waits for `model`'s version `version`.
  void train(const std::string& model, const std::string& dataset, std::uint64_t steps, int version) {
    auto doc = job_of("loop-v" + std::to_string(version), dir / ("job" + std::to_string(version)), steps);
    doc["dataset"] = dataset;
    doc["mlflow"] = {{"experiment", model},
                     {"register_model", model},
                     {"tags", {{"policy_id", "planner_policy"}, {"dataset_version", "planner/loop"}}}};
    train_and_register(*node, doc, model, version, dir / "trainer.log");
  }

  json replay(const json& body) {
    auto queued = admin("POST", "/admin/v1/replays", body);
    EXPECT_EQ(queued.status, 202) << queued.body;
    json r;
    eventually(
      [&] {
        r = admin("GET", "/admin/v1/replays/" + queued.json().value("id", "")).json();
        return r["status"] == "succeeded" || r["status"] == "failed";
      },
      3000);
    return r;
  }

  // New users of the experiment, four in five accepting their plan whatever their
  // variant: the guardrail sees no harm.
  void traffic(int from, int units) {
    json batch = json::array();
    for (int i = from; i < from + units; ++i) {
      auto unit = "loop-user-" + std::to_string(i);
      auto a = node->assign({{"unit_type", "user"}, {"unit_id", unit}}).json();
      ASSERT_EQ(a["assignments"].size(), 1u) << a.dump();
      batch.push_back({{"event_type", "plan_accepted"},
                       {"unit_type", "user"},
                       {"unit_id", unit},
                       {"context", {{"request_id", "loop-" + unit}}},
                       {"metrics", {{"accepted", i % 5 != 0}}},
                       {"timestamp", expd::core::format_rfc3339(expd::runtime::now_micros())}});
    }
    ASSERT_EQ(node->request("POST", "/v1/events", json{{"events", batch}}.dump()).status, 200);
  }

  scratch_database db;
  std::string listen = "127.0.0.1:" + std::to_string(free_port());
  fs::path dir;
  std::int64_t start = 0;
  std::unique_ptr<expd_process> node;
  std::unique_ptr<child> trainer;
};

TEST_F(whole_loop, events_become_a_dataset_a_model_a_candidate_and_production) {
  const auto model = unique_name("loop_model");
  auto types = admin("POST", "/admin/v1/event-types/apply",
                     json::parse(R"({"event_types":[
                       {"name":"plan_generated","metrics":{"latency_ms":{"type":"number","min":0}}},
                       {"name":"plan_accepted","metrics":{"accepted":{"type":"boolean"}}}]})"));
  ASSERT_EQ(types.status, 200) << types.body;
  send_planner_events();

  // Events -> a dataset version.
  auto built = admin("POST", "/admin/v1/datasets",
                     {{"name", "planner"},
                      {"from", expd::core::format_rfc3339(start)},
                      {"to", expd::core::format_rfc3339(start + 10 * day_micros)},
                      {"validation", 0.25}});
  ASSERT_EQ(built.status, 201) << built.body;
  const std::string version = built.json()["version"];
  const std::string dataset = "planner/" + version;
  const auto folder = (dir / "store" / "datasets" / "planner" / version).string();

  // The baseline (version 1) serves the experiment; the candidate (2) trains longer.
  train(model, folder, 3, 1);
  json policies = {{"policies",
                    {{{"name", "planner_policy"},
                      {"versions", {{{"version", 1}, {"mlflow_model_name", model}, {"mlflow_model_version", 1}}}}}}}};
  ASSERT_EQ(admin("POST", "/admin/v1/policies/apply", policies).status, 200);
  auto doc = spec_example();
  for (auto& v : doc["experiments"][0]["variants"])
    v["config"] = {{"policy_version_id", "planner_policy/1"}};
  ASSERT_EQ(node->apply(doc).status, 200);
  ASSERT_EQ(node->set_status("planner_policy_exp", "running").status, 200);
  train(model, folder, 8, 2);

  // A candidate that is not one yet cannot be promoted.
  json promotion = {{"model", model + "/2"},
                    {"experiment", "planner_policy_exp"},
                    {"allocation", 0.1},
                    {"steps", {0.3}},
                    {"hold", 0},
                    {"min_exposures", 20},
                    {"guardrails",
                     {{{"metric", "plan_accepted.accepted"}, {"direction", "must_not_decrease"}, {"tolerance", 0.05}}}}};
  EXPECT_EQ(error_code_and_field(admin("POST", "/admin/v1/promotions", promotion)), "invalid_transition model");

  // Replay on the built dataset with the gates the tiny model can meet (the spec's
  // minimum refuses a model this small: the second replay below).
  json gates = {{"max_violations", 1000000},
                {"alignment_tolerance", 1},
                {"edit_distance_tolerance", 1},
                {"variety_tolerance", 1},
                {"leftovers_tolerance", 1}};
  auto passed = replay({{"candidate", model + "/2"},
                        {"baseline", model + "/1"},
                        {"dataset", dataset},
                        {"max_rows", 8},
                        {"max_new_tokens", 32},
                        {"criteria", gates}});
  ASSERT_EQ(passed["verdict"], "accepted") << passed.dump();
  EXPECT_TRUE(has_alias(registered_version(model, 2), "candidate"));

  // Promotion at 10%, the guardrail holds, raised, completed: production.
  auto started = admin("POST", "/admin/v1/promotions", promotion);
  ASSERT_EQ(started.status, 201) << started.body;
  const std::string id = started.json()["id"];
  json p;
  int from = 0;
  ASSERT_TRUE(eventually(
    [&] {
      traffic(from, 40);
      from += 40;
      p = admin("GET", "/admin/v1/promotions/" + id).json();
      return p["status"] != "active";
    },
    600))
    << p.dump();
  EXPECT_EQ(p["status"], "completed") << p.dump();
  std::vector<std::string> kinds;
  for (auto& e : p["events"])
    kinds.push_back(e["kind"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"started", "raised", "completed"})) << p.dump();
  EXPECT_TRUE(has_alias(registered_version(model, 2), "production"));
  // The replay's scores are the policy version's now that one serves the model.
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.offline_replay_results r JOIN exp.policy_versions v"
                      " ON v.id = r.policy_version_id WHERE r.mlflow_model_name = '" + model
                      + "' AND r.mlflow_model_version = 2"),
            "5");

  // A worse candidate: version 3, three steps, under the spec's own gates: refused at
  // replay, named, no alias moved, and its promotion refused.
  train(model, folder, 3, 3);
  auto refused = replay({{"candidate", model + "/3"},
                         {"baseline", model + "@production"},
                         {"dataset", dataset},
                         {"max_rows", 8},
                         {"max_new_tokens", 32}});
  ASSERT_EQ(refused["verdict"], "refused") << refused.dump();
  EXPECT_FALSE(refused["summary"]["failed"].empty());
  EXPECT_FALSE(has_alias(registered_version(model, 3), "candidate"));
  EXPECT_TRUE(has_alias(registered_version(model, 2), "candidate"));
}

} // namespace
