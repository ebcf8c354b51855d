// Promotion (docs/lifecycle.md, "Promotion") on a real expd, PostgreSQL and MLflow: a
// candidate starts at no more than 10%, is raised while its guardrail holds and reaches
// production, or is rolled back by itself when it harms the guardrail.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "core/rfc3339.hpp"
#include "runtime/wall_clock.hpp"

#include "tests/integration/expd_process.hpp"
#include "tests/integration/headless_chromium.hpp"
#include "tests/integration/mlflow_models.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

const json event_types = json::parse(R"({"event_types":[
  {"name":"plan_accepted","metrics":{"accepted":{"type":"boolean"}}}]})");

struct promotion_world {
  mlflow_model model{2, {{"policy_id", "planner_policy"}}};
  scratch_database db;
  expd_process node{db,
                    {"--mlflow=" + mlflow_uri(), "--aggregate-interval-ms=200", "--promotion-interval-ms=200"}};
  std::map<std::string, std::string> variant_of; // unit -> variant name
  std::map<std::string, std::string> variant_id; // variant name -> id
  std::string experiment_id;

  promotion_world() {
    json policies = {{"policies",
                      {{{"name", "planner_policy"},
                        {"versions", {{{"version", 1}, {"mlflow_model_name", model.name}, {"mlflow_model_version", 1}}}}}}}};
    EXPECT_EQ(node.request("POST", "/admin/v1/policies/apply", policies.dump(), true).status, 200);
    auto doc = spec_example();
    doc["experiments"][0]["variants"][0]["config"] = {{"policy_version_id", "planner_policy/1"}};
    doc["experiments"][0]["variants"][1]["config"] = {{"policy_version_id", "planner_policy/1"}};
    EXPECT_EQ(node.apply(doc).status, 200);
    EXPECT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
    EXPECT_EQ(node.request("POST", "/admin/v1/event-types/apply", event_types.dump(), true).status, 200);
  }

  http_reply promote(json body) const {
    return node.request("POST", "/admin/v1/promotions", body.dump(), true);
  }

  json request(double allocation = 0.1) const {
    return {{"model", model.name + "/2"},
            {"experiment", "planner_policy_exp"},
            {"allocation", allocation},
            {"steps", {0.3}},
            {"hold", 0},
            {"min_exposures", 30},
            {"guardrails", {{{"metric", "plan_accepted.accepted"}, {"direction", "must_not_decrease"}, {"tolerance", 0.05}}}}};
  }

  // Assigns `units` new units and sends each a plan_accepted event: accepted when
  // `accepts(variant)` says so for that unit's index.
  void traffic(int from, int units, const std::function<bool(const std::string&, int)>& accepts) {
    json batch = json::array();
    for (int i = from; i < from + units; ++i) {
      auto unit = "user-" + std::to_string(i);
      auto a = node.assign({{"unit_type", "user"}, {"unit_id", unit}}).json();
      ASSERT_EQ(a["assignments"].size(), 1u) << a.dump();
      auto name = a["assignments"][0]["variant_name"].get<std::string>();
      experiment_id = a["assignments"][0]["experiment_id"];
      variant_of[unit] = name;
      variant_id[name] = a["assignments"][0]["variant_id"];
      batch.push_back({{"event_type", "plan_accepted"},
                       {"unit_type", "user"},
                       {"unit_id", unit},
                       {"metrics", {{"accepted", accepts(name, i)}}},
                       {"timestamp", expd::core::format_rfc3339(expd::runtime::now_micros())}});
      if (batch.size() == 100) {
        ASSERT_EQ(node.request("POST", "/v1/events", json{{"events", batch}}.dump()).status, 200);
        batch = json::array();
      }
    }
    if (!batch.empty())
      ASSERT_EQ(node.request("POST", "/v1/events", json{{"events", batch}}.dump()).status, 200);
  }

  json promotion(const std::string& id) const {
    return node.request("GET", "/admin/v1/promotions/" + id, "", true).json();
  }

  double allocation_of(const std::string& variant) const {
    return std::stod(db.scalar("SELECT allocation FROM exp.variants WHERE name = '" + variant + "'"));
  }
};

} // namespace

TEST(promotion, only_a_candidate_starts_and_always_at_most_ten_percent) {
  promotion_world w;
  auto not_candidate = w.promote(w.request());
  ASSERT_EQ(not_candidate.status, 409) << not_candidate.body;
  EXPECT_EQ(error_code_and_field(not_candidate), "invalid_transition model");
  w.model.client().set_alias(w.model.name, "candidate", 2);

  auto too_big = w.promote(w.request(0.2));
  ASSERT_EQ(too_big.status, 400) << too_big.body;
  EXPECT_EQ(error_code_and_field(too_big), "invalid_field allocation");
  EXPECT_NE(too_big.body.find("<= 10%"), std::string::npos);
  auto unknown = w.request();
  unknown["experiment"] = "nope";
  EXPECT_EQ(error_code_and_field(w.promote(unknown)), "unknown_experiment experiment");
  auto missing = w.request();
  missing["model"] = w.model.name + "/9";
  EXPECT_EQ(error_code_and_field(w.promote(missing)), "invalid_field model");
  // Nothing of the refusals is left: no variant, no policy version, no promotion.
  EXPECT_EQ(w.db.scalar("SELECT count(*) FROM exp.variants"), "2");
  EXPECT_EQ(w.db.scalar("SELECT count(*) FROM exp.policy_versions"), "1");
  EXPECT_EQ(w.db.scalar("SELECT count(*) FROM exp.promotions"), "0");

  auto started = w.promote(w.request());
  ASSERT_EQ(started.status, 201) << started.body;
  auto p = started.json();
  EXPECT_EQ(p["status"], "active");
  EXPECT_EQ(p["allocation"], 0.1);
  auto variant = p["variant"].get<std::string>();
  EXPECT_EQ(variant, "candidate_" + w.model.name + "_v2");
  // Spec 11.1 and 11.2: the policy's next version, serving the candidate, and the variant.
  EXPECT_EQ(w.db.scalar("SELECT version || ':' || mlflow_model_version || ':' || mlflow_run_id"
                        " FROM exp.policy_versions WHERE id = '" + p["policy_version_id"].get<std::string>() + "'"),
            "2:2:" + w.model.run_ids[1]);
  EXPECT_EQ(w.db.scalar("SELECT config ->> 'policy_version_id' FROM exp.variants WHERE name = '" + variant + "'"),
            p["policy_version_id"].get<std::string>());
  EXPECT_DOUBLE_EQ(w.allocation_of(variant), 0.1);
  EXPECT_DOUBLE_EQ(w.allocation_of("control"), 0.4);
  auto twice = w.promote(w.request());
  EXPECT_EQ(error_code_and_field(twice), "invalid_transition experiment");
}

TEST(promotion, units_keep_their_variants_and_a_candidate_that_holds_reaches_production) {
  promotion_world w;
  w.traffic(0, 200, [](const std::string&, int i) { return i % 3 != 0; });
  auto before = w.variant_of;
  w.model.client().set_alias(w.model.name, "candidate", 2);
  auto started = w.promote(w.request());
  ASSERT_EQ(started.status, 201) << started.body;
  auto id = started.json()["id"].get<std::string>();
  auto variant = started.json()["variant"].get<std::string>();
  for (auto& [unit, name] : before) {
    auto a = w.node.assign({{"unit_type", "user"}, {"unit_id", unit}}).json();
    ASSERT_EQ(a["assignments"][0]["variant_name"], name) << unit; // nobody moved
  }
  // Everyone accepts at the same rate: the guardrail holds at each step.
  w.traffic(200, 1500, [](const std::string&, int i) { return i % 3 != 0; });
  ASSERT_TRUE(eventually([&] { return w.promotion(id)["status"] == "completed"; }, 600))
    << w.promotion(id).dump(1);
  auto done = w.promotion(id);
  std::vector<std::string> kinds;
  for (auto& e : done["events"])
    kinds.push_back(e["kind"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"started", "raised", "completed"})) << done.dump(1);
  EXPECT_EQ(done["events"][1]["allocation"], 0.3);
  // The baseline retired: the candidate holds its share, control none.
  EXPECT_DOUBLE_EQ(w.allocation_of("control"), 0);
  EXPECT_DOUBLE_EQ(w.allocation_of(variant), 0.5);
  auto client = w.model.client();
  auto version = client.get_model_version(w.model.name, 2);
  EXPECT_EQ(version.tags["stage"], "production");
  EXPECT_EQ(client.get_registered_model(w.model.name).aliases["production"], 2);
}

TEST(promotion, a_guardrail_breach_rolls_the_candidate_back) {
  promotion_world w;
  w.model.client().set_alias(w.model.name, "candidate", 2);
  auto started = w.promote(w.request());
  ASSERT_EQ(started.status, 201) << started.body;
  auto id = started.json()["id"].get<std::string>();
  auto variant = started.json()["variant"].get<std::string>();
  // The candidate's units accept a fifth of their plans, everyone else's four fifths.
  w.traffic(0, 1500, [&](const std::string& name, int i) { return name == variant ? i % 5 == 0 : i % 5 != 0; });
  ASSERT_TRUE(eventually([&] { return w.promotion(id)["status"] == "rolled_back"; }, 600))
    << w.promotion(id).dump(1);
  auto done = w.promotion(id);
  auto last = done["events"].back();
  EXPECT_EQ(last["kind"], "rolled_back");
  EXPECT_NE(last["reason"].get<std::string>().find("plan_accepted.accepted breached"), std::string::npos) << last;
  EXPECT_DOUBLE_EQ(w.allocation_of(variant), 0);
  EXPECT_DOUBLE_EQ(w.allocation_of("control"), 0.5);
  EXPECT_EQ(w.model.client().get_model_version(w.model.name, 2).tags["stage"], "rolled_back");
  // The dashboard's read: no admin token needed.
  auto public_read = w.node.request("GET", "/v1/experiments/" + w.experiment_id + "/promotions");
  ASSERT_EQ(public_read.status, 200) << public_read.body;
  auto listed = public_read.json()["promotions"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["events"].back()["kind"], "rolled_back");
  EXPECT_EQ(w.node.request("GET", "/v1/experiments/not-a-uuid/promotions").status, 400);
  // And the dashboard shows it: the step, its reason, the breached guardrail.
  if (!chromium_binary().empty()) {
    headless_page page;
    std::string log;
    auto dom = page.dom("http://127.0.0.1:" + std::to_string(w.node.port()) + "/dashboard#" + w.experiment_id, log);
    ASSERT_EQ(dom.status, 0) << log;
    EXPECT_NE(dom.out.find("data-state=\"ready\""), std::string::npos) << log;
    EXPECT_NE(dom.out.find("class=\"promotion-rolled_back\""), std::string::npos) << dom.out.substr(0, 3000);
    EXPECT_NE(dom.out.find("<tr class=\"breached\"><td>plan_accepted.accepted</td>"), std::string::npos);
    EXPECT_NE(dom.out.find("plan_accepted.accepted breached"), std::string::npos);
  }
  auto status = run_expctl(w.node, "promote status " + id);
  EXPECT_EQ(status.status, 0) << status.out;
  EXPECT_NE(status.out.find("rolled_back"), std::string::npos) << status.out;
}
