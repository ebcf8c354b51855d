#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/plan_request.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

json good() {
  return json::parse(R"({"unit_id":"household-0042","request_id":"req-1","max_new_tokens":64,
    "context":{"country":"DE"},
    "input":{"pantry_id":"pantry-7","constraint_id":"constraint-9","workflow":"weekly","mode":"auto",
             "previous_plan":["r1","r2"]}})");
}

std::string field_of(const json& body) {
  try {
    parse_plan_request(body);
  } catch (const field_error& e) {
    return e.field();
  }
  return "(accepted)";
}

TEST(plan_request, reads_the_request_and_defaults_the_household_and_unit_type) {
  auto r = parse_plan_request(good());
  EXPECT_EQ(r.request_id, "req-1");
  EXPECT_EQ(r.assign.unit_type, "household");
  EXPECT_EQ(r.assign.unit_id, "household-0042");
  EXPECT_EQ(r.assign.context, json({{"country", "DE"}}));
  EXPECT_TRUE(r.assign.all);
  EXPECT_EQ(r.input.household_id, "household-0042");
  EXPECT_EQ(r.input.pantry_id, "pantry-7");
  EXPECT_EQ(r.input.constraint_id, "constraint-9");
  EXPECT_EQ(r.input.workflow, "weekly");
  EXPECT_EQ(r.input.mode, "auto");
  EXPECT_EQ(r.input.previous_plan, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(r.max_new_tokens, 64u);

  auto doc = good();
  doc["unit_type"] = "user";
  doc["experiment"] = "planner_policy_exp";
  doc["input"]["household_id"] = "household-7";
  doc.erase("max_new_tokens");
  doc.erase("request_id");
  auto s = parse_plan_request(doc);
  EXPECT_EQ(s.assign.unit_type, "user");
  EXPECT_FALSE(s.assign.all);
  EXPECT_EQ(s.assign.requested, std::vector<std::string>{"planner_policy_exp"});
  EXPECT_EQ(s.input.household_id, "household-7");
  EXPECT_EQ(s.max_new_tokens, 0u);
  EXPECT_TRUE(s.request_id.empty());
}

TEST(plan_request, names_the_field_at_fault) {
  auto with = [](const char* pointer, json value) {
    auto doc = good();
    doc[json::json_pointer(pointer)] = std::move(value);
    return doc;
  };
  auto without = [](const char* key) {
    auto doc = good();
    doc.erase(key);
    return doc;
  };
  auto input_without = [](const char* key) {
    auto doc = good();
    doc["input"].erase(key);
    return doc;
  };
  EXPECT_EQ(field_of(json::array()), "body");
  EXPECT_EQ(field_of(without("unit_id")), "unit_id");
  EXPECT_EQ(field_of(with("/unit_id", 5)), "unit_id");
  EXPECT_EQ(field_of(with("/unit_id", "a\u0001b")), "unit_id");
  EXPECT_EQ(field_of(with("/unit_id", std::string(600, 'x'))), "unit_id");
  EXPECT_EQ(field_of(with("/unit_type", "")), "unit_type");
  EXPECT_EQ(field_of(with("/context", "DE")), "context");
  EXPECT_EQ(field_of(with("/experiment", json::array())), "experiment");
  EXPECT_EQ(field_of(with("/max_new_tokens", 0)), "max_new_tokens");
  EXPECT_EQ(field_of(with("/max_new_tokens", 513)), "max_new_tokens");
  EXPECT_EQ(field_of(with("/max_new_tokens", 1.5)), "max_new_tokens");
  EXPECT_EQ(field_of(with("/request_id", std::string(200, 'r'))), "request_id");
  EXPECT_EQ(field_of(with("/colour", "red")), "colour");
  EXPECT_EQ(field_of(without("input")), "input");
  EXPECT_EQ(field_of(with("/input", "pantry-7")), "input");
  EXPECT_EQ(field_of(input_without("pantry_id")), "input.pantry_id");
  EXPECT_EQ(field_of(input_without("constraint_id")), "input.constraint_id");
  EXPECT_EQ(field_of(input_without("workflow")), "input.workflow");
  EXPECT_EQ(field_of(input_without("mode")), "input.mode");
  EXPECT_EQ(field_of(with("/input/pantry_id", "")), "input.pantry_id");
  EXPECT_EQ(field_of(with("/input/oven", true)), "input.oven");
  EXPECT_EQ(field_of(with("/input/previous_plan", "r1")), "input.previous_plan");
  EXPECT_EQ(field_of(with("/input/previous_plan", json::array({"r1", 3}))), "input.previous_plan[1]");
  EXPECT_EQ(field_of(with("/input/previous_plan", json(std::vector<std::string>(32, "r")))), "input.previous_plan");
  EXPECT_EQ(field_of(with("/input/household_id", "h\nx")), "input.household_id");
  EXPECT_EQ(field_of(good()), "(accepted)");
}

TEST(plan_request, a_batch_holds_one_to_the_cap_and_names_the_item) {
  json batch = {{"requests", json::array({good(), good()})}};
  EXPECT_EQ(parse_plan_batch(batch).size(), 2u);
  auto field = [](const json& body) {
    try {
      parse_plan_batch(body);
    } catch (const field_error& e) {
      return e.field();
    }
    return std::string{"(accepted)"};
  };
  EXPECT_EQ(field(json{{"requests", json::array()}}), "requests");
  EXPECT_EQ(field(json{{"requests", good()}}), "requests");
  EXPECT_EQ(field(json{{"requests", json(std::vector<json>(65, good()))}}), "requests");
  EXPECT_EQ(field(json{{"requests", json(std::vector<json>(64, good()))}}), "(accepted)");
  EXPECT_EQ(field(json{{"requests", json::array({good()})}, {"extra", 1}}), "extra");
  auto bad = good();
  bad["input"].erase("mode");
  EXPECT_EQ(field(json{{"requests", json::array({good(), bad})}}), "requests[1].input.mode");
  bad = good();
  bad.erase("unit_id");
  EXPECT_EQ(field(json{{"requests", json::array({bad})}}), "requests[0].unit_id");
}

TEST(plan_request, the_first_assignment_served_by_a_model_serves_the_plan) {
  auto answer = json::parse(R"({"assignments":[
    {"experiment_id":"e1","experiment_name":"colour","variant_id":"v1","variant_name":"blue","config":{"colour":"blue"}},
    {"experiment_id":"e2","experiment_name":"prompts","variant_id":"v2","variant_name":"p",
     "config":{"execution_strategy":"prompt_template","prompt_version_id":"p/1"}},
    {"experiment_id":"e3","experiment_name":"planner_policy_exp","variant_id":"v3","variant_name":"treatment",
     "config":{"policy_version_id":"planner_policy/2"}},
    {"experiment_id":"e4","experiment_name":"later","variant_id":"v4","variant_name":"x",
     "config":{"policy_version_id":"planner_policy/3"}}]})");
  auto a = plan_assignment_of(answer);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->experiment_id, "e3");
  EXPECT_EQ(a->experiment_name, "planner_policy_exp");
  EXPECT_EQ(a->variant_id, "v3");
  EXPECT_EQ(a->variant_name, "treatment");
  EXPECT_EQ(a->policy_version_id, "planner_policy/2");
  auto hybrid = json::parse(R"({"assignments":[{"experiment_id":"e","variant_id":"v",
    "config":{"execution_strategy":"hybrid","policy_version_id":"planner_policy/1","prompt_version_id":"p/1"}}]})");
  ASSERT_TRUE(plan_assignment_of(hybrid));
  EXPECT_EQ(plan_assignment_of(hybrid)->policy_version_id, "planner_policy/1");
  EXPECT_FALSE(plan_assignment_of(json::parse(R"({"assignments":[]})")));
  EXPECT_FALSE(plan_assignment_of(json::parse(R"({"assignments":[{"config":{"policy_version_id":"not a ref!"}}]})")));
  EXPECT_FALSE(plan_assignment_of(json::object()));
}

TEST(plan_request, the_event_carries_what_the_dataset_query_reads) {
  auto r = parse_plan_request(good());
  plan_assignment a{"e3", "planner_policy_exp", "v3", "treatment", "planner_policy/2"};
  plan_outcome o;
  o.model = "planner_model/5";
  o.policy_version_id = "6f1c0000-0000-4000-8000-000000000001";
  o.plan = "plan: Mon dal tadka (35 min, uses lentils, rice); Tue leftovers of dal tadka; shopping: none";
  o.finish_reason = "stop";
  o.latency_ms = 12.5;
  o.cost_usd = 0.002;
  auto e = plan_generated_event(r, a, o, 1735725600000000);
  EXPECT_EQ(e["event_type"], "plan_generated");
  EXPECT_EQ(e["unit_type"], "household");
  EXPECT_EQ(e["unit_id"], "household-0042");
  EXPECT_EQ(e["experiments"], json::parse(R"([{"experiment_id":"e3","variant_id":"v3"}])"));
  EXPECT_EQ(e["context"]["request_id"], "req-1");
  EXPECT_EQ(e["context"]["policy_version_id"], o.policy_version_id);
  EXPECT_EQ(e["context"]["pantry_id"], "pantry-7");
  EXPECT_EQ(e["context"]["constraint_id"], "constraint-9");
  EXPECT_EQ(e["context"]["workflow"], "weekly");
  EXPECT_EQ(e["context"]["mode"], "auto");
  EXPECT_EQ(e["context"]["previous_plan"], json::array({"r1", "r2"}));
  EXPECT_EQ(e["context"]["plan"], o.plan);
  EXPECT_EQ(e["metrics"]["latency_ms"], 12.5);
  EXPECT_EQ(e["metrics"]["cost_usd"], 0.002);
  EXPECT_EQ(e["metrics"]["plan_steps"], 2);
  EXPECT_EQ(e["timestamp"], "2025-01-01T10:00:00.000000Z");
  o.plan = "lentils lentils";
  EXPECT_FALSE(plan_generated_event(r, a, o, 0)["metrics"].contains("plan_steps"));
  auto answer = plan_answer(r, a, o);
  EXPECT_EQ(answer["variant_name"], "treatment");
  EXPECT_EQ(answer["model"], "planner_model/5");
  EXPECT_EQ(answer["plan"], "lentils lentils");
}

} // namespace
