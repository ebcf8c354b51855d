#include <gtest/gtest.h>

#include "core/apply_plan.hpp"
#include "core/experiment_document.hpp"
#include "core/field_error.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

json example() {
  return json::parse(R"({"experiments":[{"name":"planner_policy_exp","unit_type":"user",
    "variants":[{"name":"control","allocation":0.5,"config":{"policy_version_id":"planner_policy/1"}},
                {"name":"leftovers_v2","allocation":0.5,
                 "config":{"policy_version_id":"planner_policy/2","params":{"exploration_rate":0.2}}}]}]})");
}

std::string fault_of(const json& doc) {
  try {
    parse_experiment_document(doc);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

experiment stored(const experiment_spec& spec, experiment_status status) {
  experiment e;
  e.name = spec.name;
  e.unit_type = spec.unit_type;
  e.status = status;
  e.salt = spec.salt.value_or(spec.name);
  e.condition_spec = spec.condition;
  for (auto& v : spec.variants)
    e.variants.push_back({{}, v.name, v.allocation, v.config, "", "", ""});
  return e;
}

} // namespace

TEST(experiment_document, reads_the_onboarding_spec_example) {
  auto specs = parse_experiment_document(example());
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].name, "planner_policy_exp");
  EXPECT_EQ(specs[0].unit_type, "user");
  EXPECT_FALSE(specs[0].status.has_value());
  ASSERT_EQ(specs[0].variants.size(), 2u);
  EXPECT_EQ(specs[0].variants[1].config["params"]["exploration_rate"], 0.2);
}

TEST(experiment_document, names_the_field_of_each_fault) {
  auto doc = example();
  doc["experiments"][0]["variants"][1]["allocation"] = 0.6;
  EXPECT_EQ(fault_of(doc), "experiments[0].variants");

  doc = example();
  doc["experiments"][0]["variants"][1]["name"] = "control";
  EXPECT_EQ(fault_of(doc), "experiments[0].variants[1].name");

  doc = example();
  doc["experiments"][0]["status"] = "live";
  EXPECT_EQ(fault_of(doc), "experiments[0].status");

  doc = example();
  doc["experiments"].push_back(doc["experiments"][0]);
  EXPECT_EQ(fault_of(doc), "experiments[1].name");

  doc = example();
  doc["experiments"][0]["variants"][0]["allocation"] = "0.5";
  EXPECT_EQ(fault_of(doc), "experiments[0].variants[0].allocation");

  doc = example();
  doc["experiments"][0]["variants"][0]["allocation"] = -0.1;
  EXPECT_EQ(fault_of(doc), "experiments[0].variants[0].allocation");

  doc = example();
  doc["experiments"][0]["variants"][0]["alocation"] = 0.1;
  EXPECT_EQ(fault_of(doc), "experiments[0].variants[0].alocation");

  doc = example();
  doc["experiments"][0].erase("unit_type");
  EXPECT_EQ(fault_of(doc), "experiments[0].unit_type");

  doc = example();
  doc["experiments"][0]["name"] = "has space";
  EXPECT_EQ(fault_of(doc), "experiments[0].name");

  doc = example();
  doc["experiments"][0]["variants"] = json::array();
  EXPECT_EQ(fault_of(doc), "experiments[0].variants");

  doc = example();
  doc["experiments"][0]["variants"][0]["config"] = json::array();
  EXPECT_EQ(fault_of(doc), "experiments[0].variants[0].config");

  doc = example();
  doc["experiments"][0]["condition"] = json::parse(R"({"$and":[{"a":1},{"b":{"$bogus":1}}]})");
  EXPECT_EQ(fault_of(doc), "experiments[0].condition.$and[1].b.$bogus");

  EXPECT_EQ(fault_of(json::parse(R"({"experiment":[]})")), "experiment");
  EXPECT_EQ(fault_of(json::array()), "experiments");
}

TEST(experiment_document, rounding_cannot_overfill_the_buckets) {
  auto doc = example();
  doc["experiments"][0]["variants"][0]["allocation"] = 0.50004;
  doc["experiments"][0]["variants"][1]["allocation"] = 0.49996;
  EXPECT_EQ(fault_of(doc), "no error"); // 5000 + 5000 buckets
  doc["experiments"][0]["variants"][0]["allocation"] = 0.50005;
  doc["experiments"][0]["variants"][1]["allocation"] = 0.49995;
  // Sums to 1 but rounds to 5001 + 5000 buckets.
  EXPECT_EQ(fault_of(doc), "experiments[0].variants");
}

TEST(apply_plan, new_experiments_start_in_draft_salted_by_name) {
  auto plan = plan_apply(parse_experiment_document(example()), {});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].action, apply_action::created);
  EXPECT_EQ(*plan[0].spec.status, experiment_status::draft);
  EXPECT_EQ(*plan[0].spec.salt, "planner_policy_exp");
}

TEST(apply_plan, reapplying_the_same_document_changes_nothing) {
  auto specs = parse_experiment_document(example());
  std::vector<experiment> current{stored(specs[0], experiment_status::running)};
  auto plan = plan_apply(specs, current);
  EXPECT_EQ(plan[0].action, apply_action::unchanged);
  EXPECT_EQ(*plan[0].spec.status, experiment_status::running); // absent status keeps it
}

TEST(apply_plan, allocation_change_is_an_update) {
  auto specs = parse_experiment_document(example());
  std::vector<experiment> current{stored(specs[0], experiment_status::running)};
  specs[0].variants[0].allocation = 0.3;
  EXPECT_EQ(plan_apply(specs, current)[0].action, apply_action::updated);
}

TEST(apply_plan, refuses_changes_that_break_running_experiments) {
  auto specs = parse_experiment_document(example());
  std::vector<experiment> current{stored(specs[0], experiment_status::running)};

  auto moved = specs;
  moved[0].unit_type = "household";
  EXPECT_THROW(plan_apply(moved, current), field_error);

  auto removed = specs;
  removed[0].variants.pop_back();
  try {
    plan_apply(removed, current);
    FAIL() << "removing a variant of a running experiment must be refused";
  } catch (const field_error& e) {
    EXPECT_EQ(e.field(), "experiments[0].variants");
  }

  auto back = specs;
  back[0].status = experiment_status::draft;
  EXPECT_THROW(plan_apply(back, current), field_error);

  current[0].status = experiment_status::stopped;
  auto restart = specs;
  restart[0].status = experiment_status::running;
  EXPECT_THROW(plan_apply(restart, current), field_error);
}

TEST(apply_plan, drafts_may_change_freely) {
  auto specs = parse_experiment_document(example());
  std::vector<experiment> current{stored(specs[0], experiment_status::draft)};
  specs[0].unit_type = "household";
  specs[0].variants.pop_back();
  EXPECT_EQ(plan_apply(specs, current)[0].action, apply_action::updated);
}

// What the cluster must not apply while a node may hold unstored rows (docs/cluster.md).
TEST(apply_plan, bucketing_changes_are_moved_ranges_of_served_experiments_under_one_salt) {
  auto specs = parse_experiment_document(example());
  std::vector<experiment> current{stored(specs[0], experiment_status::running)};
  EXPECT_TRUE(bucketing_changes(plan_apply(specs, current)).empty()); // unchanged

  auto described = specs;
  described[0].description = "new words";
  described[0].variants[0].config = {{"policy_version_id", "planner_policy/9"}};
  EXPECT_TRUE(bucketing_changes(plan_apply(described, current)).empty());

  auto moved = specs;
  moved[0].variants[0].allocation = 0.3;
  EXPECT_EQ(bucketing_changes(plan_apply(moved, current)),
            std::vector<std::string>{"planner_policy_exp"});

  // Below one bucket (0.0001) the ranges stay where they were.
  auto nudged = specs;
  nudged[0].variants[0].allocation += 0.00001;
  EXPECT_TRUE(bucketing_changes(plan_apply(nudged, current)).empty());

  auto resalted = moved;
  resalted[0].salt = "fresh";
  EXPECT_TRUE(bucketing_changes(plan_apply(resalted, current)).empty());

  current[0].status = experiment_status::paused;
  EXPECT_EQ(bucketing_changes(plan_apply(moved, current)).size(), 1u);
  current[0].status = experiment_status::draft;
  EXPECT_TRUE(bucketing_changes(plan_apply(moved, current)).empty());
}

TEST(experiment_status, life_cycle) {
  using s = experiment_status;
  EXPECT_TRUE(can_transition(s::draft, s::running));
  EXPECT_TRUE(can_transition(s::running, s::paused));
  EXPECT_TRUE(can_transition(s::paused, s::running));
  EXPECT_TRUE(can_transition(s::running, s::stopped));
  EXPECT_TRUE(can_transition(s::paused, s::stopped));
  EXPECT_TRUE(can_transition(s::draft, s::stopped));
  EXPECT_FALSE(can_transition(s::running, s::draft));
  EXPECT_FALSE(can_transition(s::stopped, s::running));
  EXPECT_FALSE(can_transition(s::draft, s::paused));
  EXPECT_FALSE(parse_status("live").has_value());
}

TEST(experiment_document, reads_a_cuped_pre_period_and_names_each_fault) {
  auto doc = example();
  EXPECT_FALSE(parse_experiment_document(doc)[0].cuped_pre_period_days.has_value());
  doc["experiments"][0]["cuped"] = {{"pre_period_days", 14}};
  EXPECT_EQ(parse_experiment_document(doc)[0].cuped_pre_period_days, 14);
  doc["experiments"][0]["cuped"] = nullptr;
  EXPECT_FALSE(parse_experiment_document(doc)[0].cuped_pre_period_days.has_value());
  for (auto bad : {json(14), json("14 days"), json::array()}) {
    doc["experiments"][0]["cuped"] = bad;
    EXPECT_EQ(fault_of(doc), "experiments[0].cuped") << bad;
  }
  for (auto bad : {json(0), json(91), json(-3), json(7.5), json("7"), json(nullptr),
                   json(18446744073709551615ULL)}) {
    doc["experiments"][0]["cuped"] = {{"pre_period_days", bad}};
    EXPECT_EQ(fault_of(doc), "experiments[0].cuped.pre_period_days") << bad;
  }
  doc["experiments"][0]["cuped"] = json::object();
  EXPECT_EQ(fault_of(doc), "experiments[0].cuped.pre_period_days");
  doc["experiments"][0]["cuped"] = {{"pre_period_days", 90}, {"metric", "x"}};
  EXPECT_EQ(fault_of(doc), "experiments[0].cuped.metric");
}

TEST(experiment_document, changing_the_cuped_pre_period_is_an_update) {
  auto doc = example();
  auto spec = parse_experiment_document(doc)[0];
  auto current = stored(spec, experiment_status::running);
  EXPECT_EQ(plan_apply({spec}, {current})[0].action, apply_action::unchanged);
  doc["experiments"][0]["cuped"] = {{"pre_period_days", 7}};
  EXPECT_EQ(plan_apply(parse_experiment_document(doc), {current})[0].action, apply_action::updated);
  current.cuped_pre_period_days = 7;
  EXPECT_EQ(plan_apply(parse_experiment_document(doc), {current})[0].action, apply_action::unchanged);
}

TEST(experiment_document, its_json_reads_back_as_the_same_specs) {
  auto doc = example();
  doc["experiments"][0]["status"] = "running";
  doc["experiments"][0]["salt"] = "s2";
  doc["experiments"][0]["description"] = "d";
  doc["experiments"][0]["condition"] = json::parse(R"({"country":{"$in":["DE","FR"]}})");
  doc["experiments"][0]["cuped"] = {{"pre_period_days", 14}};
  auto specs = parse_experiment_document(doc);
  auto again = parse_experiment_document(experiment_document_json(specs));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(experiment_document_json(again), experiment_document_json(specs));
  EXPECT_EQ(again[0].salt, std::optional<std::string>{"s2"});
  EXPECT_EQ(again[0].status, std::optional<experiment_status>{experiment_status::running});
  EXPECT_EQ(again[0].condition, specs[0].condition);
  EXPECT_EQ(again[0].cuped_pre_period_days, std::optional<int>{14});
  EXPECT_EQ(again[0].variants[1].config, specs[0].variants[1].config);
  auto plain = parse_experiment_document(example());
  EXPECT_FALSE(experiment_document_json(plain)["experiments"][0].contains("status"));
}

TEST(experiment_document, reads_a_metrics_block_and_names_each_fault) {
  auto doc = example();
  EXPECT_TRUE(parse_experiment_document(doc)[0].metrics.empty());
  doc["experiments"][0]["metrics"] = json::parse(R"({
    "goals": ["plan_accepted.accepted"],
    "secondary": ["plan_generated.tokens"],
    "guardrails": ["plan_generated.latency_ms", {"metric": "plan_generated.cost_usd", "margin": 0.05}]})");
  auto m = parse_experiment_document(doc)[0].metrics;
  ASSERT_EQ(m.metrics.size(), 4u);
  EXPECT_EQ(m.metrics[0].role, metric_role::goal);
  EXPECT_EQ(m.metrics[0].metric.event_type, "plan_accepted");
  EXPECT_EQ(m.metrics[0].metric.metric_name, "accepted");
  EXPECT_EQ(m.metrics[1].role, metric_role::secondary);
  EXPECT_EQ(m.metrics[2].role, metric_role::guardrail);
  EXPECT_EQ(m.metrics[2].margin, 0.0);
  EXPECT_EQ(m.metrics[3].margin, 0.05);
  ASSERT_NE(m.find("plan_generated", "cost_usd"), nullptr);
  EXPECT_EQ(m.find("plan_generated", "nothing"), nullptr);
  // The stored form reads back the same.
  EXPECT_EQ(parse_experiment_metrics(experiment_metrics_json(m), "metrics"), m);
  auto specs = parse_experiment_document(doc);
  EXPECT_EQ(parse_experiment_document(experiment_document_json(specs))[0].metrics, m);

  auto with = [&](const char* block) {
    auto d = example();
    d["experiments"][0]["metrics"] = json::parse(block);
    return fault_of(d);
  };
  EXPECT_EQ(with(R"([])"), "experiments[0].metrics");
  EXPECT_EQ(with(R"({"goal": ["a.b"]})"), "experiments[0].metrics.goal");
  EXPECT_EQ(with(R"({"goals": "a.b"})"), "experiments[0].metrics.goals");
  EXPECT_EQ(with(R"({"goals": ["a.b", "nodot"]})"), "experiments[0].metrics.goals[1]");
  EXPECT_EQ(with(R"({"goals": [".b"]})"), "experiments[0].metrics.goals[0]");
  EXPECT_EQ(with(R"({"goals": ["a."]})"), "experiments[0].metrics.goals[0]");
  EXPECT_EQ(with(R"({"goals": [7]})"), "experiments[0].metrics.goals[0]");
  EXPECT_EQ(with(R"({"goals": ["a.b"], "secondary": ["a.b"]})"), "experiments[0].metrics.secondary[0]");
  EXPECT_EQ(with(R"({"guardrails": [{"metric": "a.b", "margin": 1}]})"), "experiments[0].metrics.guardrails[0].margin");
  EXPECT_EQ(with(R"({"guardrails": [{"metric": "a.b", "margin": -0.1}]})"), "experiments[0].metrics.guardrails[0].margin");
  EXPECT_EQ(with(R"({"guardrails": [{"metric": "a.b", "margin": "5%"}]})"), "experiments[0].metrics.guardrails[0].margin");
  EXPECT_EQ(with(R"({"guardrails": [{"margin": 0.1}]})"), "experiments[0].metrics.guardrails[0].metric");
  EXPECT_EQ(with(R"({"guardrails": [{"metric": "a.b", "tolerance": 0.1}]})"), "experiments[0].metrics.guardrails[0].tolerance");
  EXPECT_EQ(with(R"({"guardrails": [["a.b"]]})"), "experiments[0].metrics.guardrails[0]");
  json many = json::array();
  for (std::size_t i = 0; i <= max_experiment_metrics; ++i)
    many.push_back("e.m" + std::to_string(i));
  auto d = example();
  d["experiments"][0]["metrics"] = {{"goals", many}};
  EXPECT_EQ(fault_of(d), "experiments[0].metrics.goals[" + std::to_string(max_experiment_metrics) + "]");
}

TEST(experiment_document, changing_the_metrics_block_is_an_update) {
  auto doc = example();
  auto spec = parse_experiment_document(doc)[0];
  auto current = stored(spec, experiment_status::running);
  doc["experiments"][0]["metrics"] = {{"goals", {"plan_accepted.accepted"}}};
  EXPECT_EQ(plan_apply(parse_experiment_document(doc), {current})[0].action, apply_action::updated);
  current.metrics = parse_experiment_document(doc)[0].metrics;
  EXPECT_EQ(plan_apply(parse_experiment_document(doc), {current})[0].action, apply_action::unchanged);
}
