// POST /v1/plan and /v1/plan/batch (issue 16, the planner request path) on a real expd,
// expd-trainer, PostgreSQL and MLflow: a tiny model trained and registered, a policy
// version naming it, an experiment whose variants name the policy version; a plan is
// the unit's variant's model completing the input rendered from the domain tables, and
// expd logs the plan_generated event the dataset query reads back.
#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include <gtest/gtest.h>

#include "core/rfc3339.hpp"
#include "runtime/wall_clock.hpp"
#include "tests/integration/expd_process.hpp"
#include "tests/integration/trainer_process.hpp"

using namespace expd::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One model for the suite: training and registering take most of its time.
class plan_path : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    inputs();
    dir = new fs::path(fs::temp_directory_path() / ("expd-plan-" + std::to_string(::getpid())));
    fs::remove_all(*dir);
    db = new scratch_database;
    const auto now = expd::runtime::now_micros();
    run_ok(std::string{EXPD_CORPUS_BINARY} + " --format=domain --rows=40 --seed=5 --start="
           + expd::core::format_rfc3339(now - 3LL * 24 * 3600 * 1000000) + " --out=" + (*dir / "domain").string());
    run_ok("psql '" + db->url() + "' -X -q -v ON_ERROR_STOP=1 -f " + EXPD_SOURCE_DIR + "/sql/domain/planner_schema.sql");
    run_ok("psql '" + db->url() + "' -X -q -v ON_ERROR_STOP=1 -v dir=" + (*dir / "domain").string() + " -f "
           + EXPD_SOURCE_DIR + "/sql/domain/planner_seed.sql");
    listen = new std::string("127.0.0.1:" + std::to_string(free_port()));
    node = new expd_process(*db, {"--trainer-listen=" + *listen, "--model-cache=" + (*dir / "models").string(),
                                  "--event-max-past-hours=336", "--archive=off", "--plan-max-new-tokens=24",
                                  "--plan-usd-per-1k-tokens=0.5",
                                  "--mlflow=" + required_env("MLFLOW_TRACKING_URI", "MLflow")});
    trainer = new child({EXPD_TRAINER_BINARY, "--registry=" + *listen, "--threads=1", "--workers=1",
                         "--inference-wait-ms=20"},
                        (*dir / "trainer.log").string());
    model = new std::string(unique_name("plan_model"));

    auto types = admin("POST", "/admin/v1/event-types/apply", json::parse(R"({"event_types":[
      {"name":"plan_generated","metrics":{"latency_ms":{"type":"number","min":0},
        "cost_usd":{"type":"number","min":0},"plan_steps":{"type":"integer","min":0}}},
      {"name":"plan_accepted","metrics":{"accepted":{"type":"boolean"}}}]})"));
    ASSERT_EQ(types.status, 200) << types.body;
    auto doc = job_of("plan-v1", *dir / "job", 3);
    doc["mlflow"] = {{"experiment", *model}, {"register_model", *model}};
    train_and_register(*node, doc, *model, 1, *dir / "trainer.log");
    if (::testing::Test::HasFatalFailure())
      return;
    json policies = {{"policies",
                      {{{"name", "planner_policy"},
                        {"versions", {{{"version", 1}, {"mlflow_model_name", *model}, {"mlflow_model_version", 1}}}}}}}};
    auto applied = admin("POST", "/admin/v1/policies/apply", policies);
    ASSERT_EQ(applied.status, 200) << applied.body;
    auto experiment = spec_example();
    experiment["experiments"][0]["unit_type"] = "household";
    for (auto& v : experiment["experiments"][0]["variants"])
      v["config"] = {{"policy_version_id", "planner_policy/1"}};
    ASSERT_EQ(node->apply(experiment).status, 200);
    ASSERT_EQ(node->set_status("planner_policy_exp", "running").status, 200);
  }

  static void TearDownTestSuite() {
    delete trainer;
    delete node;
    delete db;
    fs::remove_all(*dir);
    delete dir;
    delete listen;
    delete model;
  }

  static http_reply admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    return node->request(method, path, body.is_null() ? "" : body.dump(), true);
  }

  // A plan waits for the model's first load: a longer wait than request()'s.
  static http_reply post(const std::string& path, const std::string& body,
                         const std::string& type = "application/json") {
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: " + type
                      + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    auto replies = parse_replies(raw_exchange(node->port(), req, std::chrono::seconds{180}));
    return replies.empty() ? http_reply{} : replies.front();
  }

  // The planner requests the corpus says households made: what a plan request carries.
  static std::vector<json> corpus_requests() {
    std::vector<json> out;
    std::ifstream in(*dir / "domain" / "events.ndjson");
    for (std::string line; std::getline(in, line);) {
      auto e = json::parse(line, nullptr, false);
      if (!e.is_object() || e["event_type"] != "plan_generated")
        continue;
      auto& c = e["context"];
      out.push_back({{"unit_id", e["unit_id"]},
                     {"input",
                      {{"pantry_id", c["pantry_id"]},
                       {"constraint_id", c["constraint_id"]},
                       {"workflow", c["workflow"]},
                       {"mode", c["mode"]},
                       {"previous_plan", c.value("previous_plan", json::array())}}}});
    }
    return out;
  }

  // The plan_generated events expd logged whose request_id starts with `prefix`.
  static std::string plans_logged(const std::string& prefix) {
    return db->scalar("SELECT count(*) FROM exp.events WHERE event_type = 'plan_generated' AND context ? 'model' "
                      "AND starts_with(context->>'request_id', '" + prefix + "')");
  }

  static inline fs::path* dir = nullptr;
  static inline scratch_database* db = nullptr;
  static inline std::string* listen = nullptr;
  static inline expd_process* node = nullptr;
  static inline child* trainer = nullptr;
  static inline std::string* model = nullptr;
};

TEST_F(plan_path, a_plan_comes_from_the_units_variant_and_its_event_is_logged) {
  auto requests = corpus_requests();
  ASSERT_GE(requests.size(), 10u);
  auto request = requests[0];
  request["request_id"] = "plan-test-1";
  auto r = post("/v1/plan", request.dump());
  ASSERT_EQ(r.status, 200) << r.body << read_file(node->log_path());
  auto answer = r.json();
  // The variant is the one /v1/assign gives the unit.
  auto assigned = node->assign({{"unit_type", "household"}, {"unit_id", request["unit_id"]}}).json();
  ASSERT_EQ(assigned["assignments"].size(), 1u) << assigned.dump();
  EXPECT_EQ(answer["variant_id"], assigned["assignments"][0]["variant_id"]);
  EXPECT_EQ(answer["experiment_name"], "planner_policy_exp");
  EXPECT_EQ(answer["model"], *model + "/1");
  EXPECT_EQ(answer["policy_version_id"],
            db->scalar("SELECT id::text FROM exp.policy_versions WHERE version = 1 AND policy_id = "
                       "(SELECT id FROM exp.policies WHERE name = 'planner_policy')"));
  EXPECT_EQ(answer["request_id"], "plan-test-1");
  EXPECT_TRUE(answer["plan"].is_string());
  EXPECT_GT(answer["prompt_tokens"].get<int>(), 20);
  EXPECT_GE(answer["generated_tokens"].get<int>(), 1);
  EXPECT_LE(answer["generated_tokens"].get<int>(), 24); // the node's --plan-max-new-tokens
  EXPECT_GE(answer["batch_size"].get<int>(), 1);
  EXPECT_GT(answer["latency_ms"].get<double>(), 0);
  EXPECT_NEAR(answer["cost_usd"].get<double>(),
              (answer["prompt_tokens"].get<int>() + answer["generated_tokens"].get<int>()) / 1000.0 * 0.5, 1e-12);

  // Its event, as the dataset query reads it: the experiment, the domain rows, the plan.
  ASSERT_TRUE(eventually([&] { return plans_logged("plan-test-1") == "1"; })) << read_file(node->log_path());
  auto event = json::parse(db->scalar(
    "SELECT json_build_object('unit_id', unit_id, 'context', context, 'metrics', metrics, 'variant_ids', "
    "variant_ids)::text FROM exp.events WHERE context->>'request_id' = 'plan-test-1'"));
  EXPECT_EQ(event["unit_id"], request["unit_id"]);
  EXPECT_EQ(event["variant_ids"], json::array({answer["variant_id"]}));
  EXPECT_EQ(event["context"]["pantry_id"], request["input"]["pantry_id"]);
  EXPECT_EQ(event["context"]["constraint_id"], request["input"]["constraint_id"]);
  EXPECT_EQ(event["context"]["workflow"], request["input"]["workflow"]);
  EXPECT_EQ(event["context"]["previous_plan"], request["input"]["previous_plan"]);
  EXPECT_EQ(event["context"]["plan"], answer["plan"]);
  EXPECT_EQ(event["context"]["policy_version_id"], answer["policy_version_id"]);
  EXPECT_DOUBLE_EQ(event["metrics"]["latency_ms"].get<double>(), answer["latency_ms"].get<double>());

  // The version was fetched into the model cache once.
  EXPECT_TRUE(fs::exists(*dir / "models" / *model / "1" / "adapter"));
  // The page to try it.
  auto page = node->request("GET", "/plan");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("/dashboard/plan.js"), std::string::npos);
  auto script = node->request("GET", "/dashboard/plan.js");
  EXPECT_NE(script.body.find("/v1/plan"), std::string::npos);
}

TEST_F(plan_path, concurrent_requests_share_the_models_batches) {
  auto requests = corpus_requests();
  std::vector<std::future<http_reply>> replies;
  for (std::size_t i = 0; i < 12; ++i)
    replies.push_back(std::async(std::launch::async, [&, i] { return post("/v1/plan", requests[i % 10].dump()); }));
  int widest = 0;
  std::set<std::string> ids;
  for (auto& f : replies) {
    auto r = f.get();
    ASSERT_EQ(r.status, 200) << r.body;
    widest = std::max(widest, r.json()["batch_size"].get<int>());
    ids.insert(r.json()["request_id"].get<std::string>());
  }
  EXPECT_GT(widest, 1) << "no two of 12 concurrent plans ran in one batch";
  EXPECT_EQ(ids.size(), 12u) << "every request gets an id of its own";
}

TEST_F(plan_path, a_batch_answers_in_order_with_each_refusal_in_its_place) {
  auto requests = corpus_requests();
  auto bad = requests[1];
  bad["input"]["pantry_id"] = "no-such-pantry";
  bad["request_id"] = "batch-1";
  requests[2]["request_id"] = "batch-0";
  requests[3]["request_id"] = "batch-2";
  json body = {{"requests", {requests[2], bad, requests[3]}}};
  auto r = post("/v1/plan/batch", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto answer = r.json();
  EXPECT_EQ(answer["succeeded"], 2);
  EXPECT_EQ(answer["failed"], 1);
  ASSERT_EQ(answer["results"].size(), 3u);
  EXPECT_EQ(answer["results"][0]["unit_id"], requests[2]["unit_id"]);
  EXPECT_EQ(answer["results"][1]["status"], 404);
  EXPECT_EQ(answer["results"][1]["error"]["field"], "input.pantry_id");
  EXPECT_EQ(answer["results"][2]["unit_id"], requests[3]["unit_id"]);
  EXPECT_EQ(answer["results"][2]["request_id"], "batch-2");
  ASSERT_TRUE(eventually([&] { return plans_logged("batch-2") == "1"; }));
  EXPECT_EQ(plans_logged("batch-0"), "1");
  EXPECT_EQ(plans_logged("batch-1"), "0");
}

TEST_F(plan_path, bad_input_names_the_field_and_logs_nothing) {
  auto requests = corpus_requests();
  auto base = requests[4];
  base["request_id"] = "refused";
  // Another household's pantry and constraint.
  std::string other_pantry, other_constraint;
  for (auto& q : requests)
    if (q["unit_id"] != base["unit_id"]) {
      other_pantry = q["input"]["pantry_id"];
      other_constraint = q["input"]["constraint_id"];
      break;
    }
  ASSERT_FALSE(other_pantry.empty());
  auto with = [&](const char* pointer, json value) {
    auto doc = base;
    doc[json::json_pointer(pointer)] = std::move(value);
    return doc.dump();
  };
  struct refusal {
    std::string body, type;
    int status;
    std::string code_and_field;
  };
  std::vector<refusal> cases = {
    {"{", "application/json", 400, "invalid_json body"},
    {R"({"unit_id":"a","unit_id":"b"})", "application/json", 400, "invalid_json unit_id"},
    {std::string(40, '[') + std::string(40, ']'), "application/json", 400, "invalid_json body"},
    {base.dump(), "text/plain", 415, "unsupported_media_type Content-Type"},
    {with("/input/pantry_id", "no-such-pantry"), "application/json", 404, "not_found input.pantry_id"},
    {with("/input/pantry_id", other_pantry), "application/json", 404, "not_found input.pantry_id"},
    {with("/input/constraint_id", other_constraint), "application/json", 404, "not_found input.constraint_id"},
    {with("/input/previous_plan", json::array({"no-such-recipe"})), "application/json", 404,
     "not_found input.previous_plan[0]"},
    {with("/input/household_id", "no-such-household"), "application/json", 404, "not_found input.household_id"},
    {with("/unit_type", "shop"), "application/json", 404, "not_found unit_id"},
    {with("/experiment", "no_such_experiment"), "application/json", 400, "unknown_experiment experiment"},
    {with("/max_new_tokens", 0), "application/json", 400, "invalid_field max_new_tokens"},
    {with("/input/mode", 3), "application/json", 400, "invalid_field input.mode"},
    {with("/unit_id", std::string(600, 'u')), "application/json", 400, "invalid_field unit_id"},
  };
  for (auto& c : cases) {
    auto r = post("/v1/plan", c.body, c.type);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 200) << " -> " << r.body;
    EXPECT_EQ(error_code_and_field(r), c.code_and_field) << c.body.substr(0, 200);
  }
  json many = {{"requests", std::vector<json>(65, base)}};
  EXPECT_EQ(error_code_and_field(post("/v1/plan/batch", many.dump())), "invalid_field requests");
  EXPECT_EQ(node->request("GET", "/v1/plan").status, 405);
  // The node still serves, and nothing refused was logged.
  base["request_id"] = "served";
  EXPECT_EQ(post("/v1/plan", base.dump()).status, 200);
  ASSERT_TRUE(eventually([&] { return plans_logged("served") == "1"; }));
  EXPECT_EQ(plans_logged("refused"), "0");
}

} // namespace

namespace {

// The drift of the requests' features against the features of the dataset the version
// trained on (the corpus): every figure once 30 requests are in, and a workflow the
// training data never had reads as a significant shift, in /v1/plan/models and /metrics.
TEST_F(plan_path, drift_of_the_requests_against_the_training_dataset) {
  auto requests = corpus_requests();
  auto batch_of = [&](std::size_t n, const char* workflow) {
    json list = json::array();
    for (std::size_t i = 0; i < n; ++i) {
      auto r = requests[i % requests.size()];
      if (workflow != nullptr)
        r["input"]["workflow"] = workflow;
      list.push_back(r);
    }
    auto reply = post("/v1/plan/batch", json{{"requests", list}}.dump());
    ASSERT_EQ(reply.status, 200) << reply.body;
    ASSERT_EQ(reply.json()["failed"], 0) << reply.body;
  };
  auto workflow_drift = [&] {
    auto models = node->request("GET", "/v1/plan/models").json()["models"];
    EXPECT_EQ(models.size(), 1u) << models.dump();
    for (auto& f : models[0]["drift"]["features"])
      if (f["name"] == "workflow")
        return f;
    return json{};
  };
  batch_of(40, nullptr);
  auto models = node->request("GET", "/v1/plan/models").json()["models"];
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["model"], *model + "/1");
  EXPECT_EQ(models[0]["loaded"], true);
  auto& drift = models[0]["drift"];
  EXPECT_GT(drift["reference_rows"].get<int>(), 50) << drift.dump();
  EXPECT_GE(drift["live_rows"].get<int>(), 40);
  ASSERT_EQ(drift["features"].size(), 9u) << drift.dump();
  for (auto& f : drift["features"]) {
    EXPECT_TRUE(f["psi"].is_number()) << f.dump();
    EXPECT_TRUE(f["level"].is_string()) << f.dump();
    if (f["kind"] == "numeric") {
      EXPECT_GE(f["ks_statistic"].get<double>(), 0) << f.dump();
      EXPECT_LE(f["ks_statistic"].get<double>(), 1) << f.dump();
    }
  }
  const double before = workflow_drift()["psi"].get<double>();
  batch_of(60, "brunch");
  auto after = workflow_drift();
  EXPECT_GT(after["psi"].get<double>(), before);
  EXPECT_EQ(after["level"], "significant") << after.dump();
  auto metrics = node->request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("expd_plan_drift_psi{model=\"" + *model + "/1\",feature=\"workflow\"}"), std::string::npos);
  EXPECT_NE(metrics.find("expd_plan_drift_ks_statistic{model=\"" + *model + "/1\",feature=\"pantry_items\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("expd_plans_served_total"), std::string::npos);
}

} // namespace
