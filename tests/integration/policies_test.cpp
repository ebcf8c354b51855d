// Policies (docs/lifecycle.md, "Policies") on a real expd, PostgreSQL and MLflow server:
// a version must name a model version MLflow has, versions never change, and variant
// configs may only name stored versions.
#include <gtest/gtest.h>

#include <unistd.h>

#include "tests/integration/expd_process.hpp"
#include "tests/integration/mlflow_models.hpp"
#include "tests/support/tcp_forwarder.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

json policies(const std::string& model, std::vector<int> model_versions) {
  json versions = json::array();
  for (std::size_t i = 0; i < model_versions.size(); ++i)
    versions.push_back({{"version", i + 1}, {"mlflow_model_name", model}, {"mlflow_model_version", model_versions[i]}});
  return {{"policies", {{{"name", "planner_policy"}, {"versions", versions}}}}};
}

expd::testing::http_reply apply_policies(const expd_process& node, const json& doc, bool dry_run = false) {
  return node.request("POST", std::string{"/admin/v1/policies/apply"} + (dry_run ? "?dry_run=true" : ""), doc.dump(),
                      true);
}

json experiments_naming(const std::string& control, const std::string& treatment) {
  auto doc = spec_example();
  doc["experiments"][0]["variants"][0]["config"] = {{"policy_version_id", control}};
  doc["experiments"][0]["variants"][1]["config"] = {{"execution_strategy", "mlflow_model"},
                                                    {"policy_version_id", treatment}};
  return doc;
}

} // namespace

TEST(policies, a_version_names_a_model_version_mlflow_has) {
  mlflow_model model{2};
  scratch_database db;
  expd_process node{db, {"--mlflow=" + mlflow_uri()}};

  auto missing = apply_policies(node, policies(model.name, {1, 3}));
  ASSERT_EQ(missing.status, 422) << missing.body;
  EXPECT_EQ(error_code_and_field(missing), "invalid_policy policies[0].versions[1].mlflow_model_version");
  EXPECT_NE(missing.body.find("MLflow has no model version " + model.name + "/3"), std::string::npos) << missing.body;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.policies"), "0"); // nothing of the document

  auto dry = apply_policies(node, policies(model.name, {1, 2}), true);
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(dry.json()["policies"][0]["versions"][1]["action"], "created");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.policy_versions"), "0");

  auto applied = apply_policies(node, policies(model.name, {1, 2}));
  ASSERT_EQ(applied.status, 200) << applied.body;
  auto v2 = applied.json()["policies"][0]["versions"][1];
  EXPECT_EQ(v2["action"], "created");
  EXPECT_EQ(v2["mlflow_model"], model.name + "/2");
  EXPECT_EQ(db.scalar("SELECT mlflow_model_name || '/' || mlflow_model_version || ' ' || mlflow_run_id"
                      " FROM exp.policy_versions WHERE id = '" + v2["id"].get<std::string>() + "'"),
            model.name + "/2 " + model.run_ids[1]);

  auto again = apply_policies(node, policies(model.name, {1, 2}));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["policies"][0]["action"], "unchanged");
  EXPECT_EQ(again.json()["policies"][0]["versions"][1]["action"], "unchanged");
  EXPECT_EQ(again.json()["policies"][0]["versions"][1]["id"], v2["id"]);

  auto list = node.request("GET", "/admin/v1/policies", "", true);
  ASSERT_EQ(list.status, 200) << list.body;
  auto listed = list.json()["policies"][0];
  EXPECT_EQ(listed["name"], "planner_policy");
  ASSERT_EQ(listed["versions"].size(), 2u);
  EXPECT_EQ(listed["versions"][1]["id"], v2["id"]);
  EXPECT_EQ(listed["versions"][1]["mlflow_run_id"], model.run_ids[1]);
}

TEST(policies, a_stored_version_never_changes_and_nothing_is_half_applied) {
  mlflow_model model{3};
  scratch_database db;
  expd_process node{db, {"--mlflow=" + mlflow_uri()}};
  ASSERT_EQ(apply_policies(node, policies(model.name, {1})).status, 200);

  // Version 1 pointed elsewhere, beside a new version 2: refused whole.
  auto changed = apply_policies(node, policies(model.name, {2, 3}));
  ASSERT_EQ(changed.status, 422) << changed.body;
  EXPECT_EQ(error_code_and_field(changed), "invalid_policy policies[0].versions[0].mlflow_model_version");
  EXPECT_NE(changed.body.find("add version 2 instead"), std::string::npos) << changed.body;
  EXPECT_EQ(db.scalar("SELECT string_agg(version || ':' || mlflow_model_version, ',') FROM exp.policy_versions"), "1:1");

  auto bad = apply_policies(node, json::parse(R"({"policies":[{"name":"planner_policy","versions":[{"version":1}]}]})"));
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(error_code_and_field(bad), "invalid_policy policies[0].versions[0].mlflow_model_name");
  auto not_json = node.request("POST", "/admin/v1/policies/apply", "{\"policies\":", true);
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(node.request("GET", "/admin/v1/policies/apply", "", true).status, 405);
  EXPECT_EQ(node.request("GET", "/admin/v1/policies", "", false).status, 401);
}

TEST(policies, variant_configs_may_name_only_stored_versions) {
  mlflow_model model{2};
  scratch_database db;
  expd_process node{db, {"--mlflow=" + mlflow_uri()}};

  auto unknown = node.apply(experiments_naming("planner_policy/1", "planner_policy/2"));
  ASSERT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_EQ(error_code_and_field(unknown), "invalid_experiment experiments[0].variants[0].config.policy_version_id");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.experiments"), "0");
  auto malformed = node.apply(experiments_naming("uuid-v1", "planner_policy/2"));
  EXPECT_EQ(error_code_and_field(malformed), "invalid_experiment experiments[0].variants[0].config.policy_version_id");
  auto no_policy = node.apply(json::parse(R"({"experiments":[{"name":"e","unit_type":"user","variants":[
    {"name":"a","allocation":0.5,"config":{"execution_strategy":"hybrid","prompt_version_id":"p1"}}]}]})"));
  EXPECT_EQ(error_code_and_field(no_policy), "invalid_experiment experiments[0].variants[0].config.policy_version_id");

  auto applied = apply_policies(node, policies(model.name, {1, 2}));
  ASSERT_EQ(applied.status, 200) << applied.body;
  auto v1 = applied.json()["policies"][0]["versions"][0]["id"].get<std::string>();
  auto v2 = applied.json()["policies"][0]["versions"][1]["id"].get<std::string>();

  // Named by UUID and by POLICY/VERSION: stored, and served, as the UUID.
  auto ok = node.apply(experiments_naming(v1, "planner_policy/2"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(db.scalar("SELECT string_agg(config ->> 'policy_version_id', ',' ORDER BY name) FROM exp.variants"),
            v1 + "," + v2);
  auto same = node.apply(experiments_naming("planner_policy/1", v2));
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(same.json()["experiments"][0]["action"], "unchanged");
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  auto a = node.assign({{"unit_type", "user"}, {"unit_id", "user-123"}});
  ASSERT_EQ(a.status, 200) << a.body;
  auto config = a.json()["assignments"][0]["config"];
  EXPECT_EQ(config["policy_version_id"], a.json()["assignments"][0]["variant_name"] == "control" ? v1 : v2);
  // The spec's view joins variants to the versions they serve.
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.variants v JOIN exp.policy_versions pv"
                      " ON pv.id::text = v.config ->> 'policy_version_id'"),
            "2");
}

TEST(policies, mlflow_away_or_absent_refuses_new_versions_and_stores_nothing) {
  mlflow_model model{1};
  scratch_database db;
  {
    expd_process alone{db};
    auto refused = apply_policies(alone, policies(model.name, {1}));
    ASSERT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("no --mlflow"), std::string::npos) << refused.body;
  }
  auto uri = mlflow_uri();
  tcp_forwarder away{"127.0.0.1", 1}; // nothing listens on port 1
  expd_process node{db, {"--mlflow=http://127.0.0.1:" + std::to_string(away.port())}};
  auto refused = apply_policies(node, policies(model.name, {1}));
  ASSERT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(error_code_and_field(refused), "unavailable policies[0].versions[0].mlflow_model_version");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.policies"), "0");
  away.retarget(std::stoi(uri.substr(uri.rfind(':') + 1)));
  auto applied = apply_policies(node, policies(model.name, {1}));
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.policy_versions"), "1");
}

// The examples as deploy/run.sh applies them, once MLflow has the model they name.
TEST(policies, expctl_applies_the_example_policies_then_the_example_experiments) {
  mlflow_model model{1};
  scratch_database db;
  expd_process node{db, {"--mlflow=" + mlflow_uri()}};
  auto source = std::string{EXPD_SOURCE_DIR} + "/config/";
  // The example names planner_model; this test's model stands in for it.
  auto yaml = "/tmp/expd_policies_" + std::to_string(::getpid()) + ".yml";
  ASSERT_EQ(run_command("sed 's/planner_model/" + model.name + "/' " + source + "policies.example.yml > " + yaml).status, 0);
  auto experiments_first = run_expctl(node, "apply -f " + source + "experiments.example.yml");
  EXPECT_NE(experiments_first.status, 0);
  EXPECT_NE(experiments_first.out.find("policy_version_id"), std::string::npos) << experiments_first.out;

  auto applied = run_expctl(node, "apply -f " + yaml);
  ASSERT_EQ(applied.status, 0) << applied.out;
  EXPECT_NE(applied.out.find("planner_policy  1        " + model.name + "/1"), std::string::npos) << applied.out;
  auto experiments = run_expctl(node, "apply -f " + source + "experiments.example.yml");
  ASSERT_EQ(experiments.status, 0) << experiments.out;
  auto listed = run_expctl(node, "get policies");
  ASSERT_EQ(listed.status, 0) << listed.out;
  auto id = db.scalar("SELECT id FROM exp.policy_versions");
  EXPECT_NE(listed.out.find(id), std::string::npos) << listed.out;
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT config ->> 'policy_version_id') FROM exp.variants"), "1");
  ::unlink(yaml.c_str());
}
