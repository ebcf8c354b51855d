#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/policy_document.hpp"
#include "core/variant_execution.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

// The onboarding spec's section 13.2 example.
json example() {
  return json::parse(R"({"policies":[{"name":"planner_policy","versions":[
    {"version":1,"mlflow_model_name":"planner_model","mlflow_model_version":1},
    {"version":2,"mlflow_model_name":"planner_model","mlflow_model_version":"3",
     "config_defaults":{"temperature":0.2}}]}]})");
}

std::string fault_of(const json& doc) {
  try {
    parse_policy_document(doc);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

std::vector<stored_policy> stored(const std::vector<policy_spec>& specs) {
  std::vector<stored_policy> out;
  for (auto& s : specs) {
    stored_policy p{s.name, s.description, {}, "2026-12-01T00:00:00Z"};
    std::uint64_t n = 0;
    for (auto& v : s.versions) {
      uuid id{0xabc, ++n};
      p.versions.push_back({id, id.str(), v, "", "2026-12-01T00:00:00Z"});
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string execution_fault(const json& config) {
  try {
    read_variant_execution(config, "experiments[0].variants[1].config");
  } catch (const field_error& e) {
    return e.field() + ": " + e.what();
  }
  return "no error";
}

} // namespace

TEST(policy_document, reads_the_onboarding_spec_example) {
  auto specs = parse_policy_document(example());
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].name, "planner_policy");
  ASSERT_EQ(specs[0].versions.size(), 2u);
  EXPECT_EQ(specs[0].versions[0].mlflow_model_name, "planner_model");
  EXPECT_EQ(specs[0].versions[0].mlflow_model_version, 1);
  EXPECT_EQ(specs[0].versions[0].config_defaults, json::object());
  EXPECT_EQ(specs[0].versions[1].mlflow_model_version, 3); // the string "3"
  EXPECT_EQ(specs[0].versions[1].config_defaults, json({{"temperature", 0.2}}));
}

TEST(policy_document, names_the_field_of_each_fault) {
  auto with = [](auto edit) {
    auto doc = example();
    edit(doc);
    return fault_of(doc);
  };
  EXPECT_EQ(fault_of(json::array()), "policies");
  EXPECT_EQ(with([](json& d) { d["policies"][0].erase("name"); }), "policies[0].name");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["name"] = "bad name"; }), "policies[0].name");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["owner"] = "x"; }), "policies[0].owner");
  EXPECT_EQ(with([](json& d) { d["policies"].push_back(d["policies"][0]); }), "policies[1].name");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"] = "1"; }), "policies[0].versions");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][1]["version"] = 1; }),
            "policies[0].versions[1].version");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][0]["version"] = 0; }),
            "policies[0].versions[0].version");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][0]["version"] = "1"; }),
            "policies[0].versions[0].version");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][0]["version"] = 1.5; }),
            "policies[0].versions[0].version");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][0].erase("mlflow_model_name"); }),
            "policies[0].versions[0].mlflow_model_name");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][0]["mlflow_model_name"] = "a/b"; }),
            "policies[0].versions[0].mlflow_model_name");
  for (json bad : {json("-1"), json("3a"), json(""), json("99999999999"), json(-2), json(nullptr)})
    EXPECT_EQ(with([&](json& d) { d["policies"][0]["versions"][0]["mlflow_model_version"] = bad; }),
              "policies[0].versions[0].mlflow_model_version")
      << bad;
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][0]["config_defaults"] = json::array(); }),
            "policies[0].versions[0].config_defaults");
  EXPECT_EQ(with([](json& d) {
              d["policies"][0]["versions"][0]["config_defaults"] = {{"x", std::string(70000, 'a')}};
            }),
            "policies[0].versions[0].config_defaults");
  EXPECT_EQ(with([](json& d) { d["policies"][0]["versions"][0]["stage"] = "production"; }),
            "policies[0].versions[0].stage");
}

TEST(policy_document, a_policy_may_come_without_versions) {
  auto specs = parse_policy_document(json::parse(R"({"policies":[{"name":"ranker"}]})"));
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_TRUE(specs[0].versions.empty());
}

TEST(policy_apply, new_versions_are_created_and_known_ones_unchanged) {
  auto specs = parse_policy_document(example());
  auto plan = plan_policy_apply(specs, {});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].action, apply_action::created);
  EXPECT_EQ(plan[0].versions[0].action, apply_action::created);

  auto current = stored(specs);
  auto again = plan_policy_apply(specs, current);
  EXPECT_EQ(again[0].action, apply_action::unchanged);
  EXPECT_EQ(again[0].versions[1].action, apply_action::unchanged);
  EXPECT_EQ(again[0].versions[1].current, &current[0].versions[1]);

  auto more = specs;
  more[0].description = "the meal planner";
  more[0].versions.push_back({3, "planner_model", 4, json::object()});
  auto grown = plan_policy_apply(more, current);
  EXPECT_EQ(grown[0].action, apply_action::updated);
  EXPECT_EQ(grown[0].versions[2].action, apply_action::created);

  // A document naming only some versions keeps the others.
  auto fewer = specs;
  fewer[0].versions.erase(fewer[0].versions.begin());
  auto kept = plan_policy_apply(fewer, current);
  ASSERT_EQ(kept[0].versions.size(), 1u);
  EXPECT_EQ(kept[0].versions[0].action, apply_action::unchanged);
}

TEST(policy_apply, a_stored_version_never_changes) {
  auto specs = parse_policy_document(example());
  auto current = stored(specs);
  auto refused = [&](auto edit) -> std::string {
    auto changed = specs;
    edit(changed[0].versions[1]);
    try {
      plan_policy_apply(changed, current);
    } catch (const field_error& e) {
      return e.field() + ": " + e.what();
    }
    return "no error";
  };
  EXPECT_EQ(refused([](policy_version_spec& v) { v.mlflow_model_version = 5; }),
            "policies[0].versions[1].mlflow_model_version: planner_policy version 2 serves "
            "planner_model/3, not planner_model/5; a version never changes (variants serve it): "
            "add version 3 instead");
  EXPECT_EQ(refused([](policy_version_spec& v) { v.mlflow_model_name = "ranker_model"; })
              .rfind("policies[0].versions[1].mlflow_model_name:", 0),
            0u);
  EXPECT_EQ(refused([](policy_version_spec& v) { v.config_defaults["temperature"] = 0.3; })
              .rfind("policies[0].versions[1].config_defaults:", 0),
            0u);
}

TEST(policy_reference, reads_a_uuid_or_policy_slash_version) {
  auto id = parse_policy_reference("0b7c5a9e-3f2d-4c1e-9a8b-7d6e5f4a3b2c");
  ASSERT_TRUE(id && id->id);
  EXPECT_EQ(id->id->str(), "0b7c5a9e-3f2d-4c1e-9a8b-7d6e5f4a3b2c");
  auto named = parse_policy_reference("planner_policy/12");
  ASSERT_TRUE(named);
  EXPECT_FALSE(named->id);
  EXPECT_EQ(named->policy, "planner_policy");
  EXPECT_EQ(named->version, 12);
  for (auto bad : {"", "uuid-v1", "planner_policy", "planner_policy/", "/3", "planner_policy/0",
                   "planner_policy/-1", "planner_policy/1x", "a b/1", "planner/policy/x",
                   "planner_policy/99999999999"})
    EXPECT_FALSE(parse_policy_reference(bad)) << bad;
}

TEST(policy_reference, finds_the_stored_version_by_either_form) {
  auto current = stored(parse_policy_document(example()));
  auto& v2 = current[0].versions[1];
  EXPECT_EQ(find_policy_version(current, *parse_policy_reference("planner_policy/2")), &v2);
  EXPECT_EQ(find_policy_version(current, *parse_policy_reference(v2.id_text)), &v2);
  EXPECT_EQ(find_policy_version(current, *parse_policy_reference("planner_policy/3")), nullptr);
  EXPECT_EQ(find_policy_version(current, *parse_policy_reference("ranker/1")), nullptr);
  EXPECT_EQ(find_policy_version(current, *parse_policy_reference(uuid{1, 2}.str())), nullptr);
}

TEST(variant_execution, a_policy_version_alone_means_an_mlflow_model) {
  auto e = read_variant_execution({{"policy_version_id", "planner_policy/1"}}, "c");
  ASSERT_TRUE(e.strategy);
  EXPECT_EQ(*e.strategy, execution_strategy::mlflow_model);
  EXPECT_EQ(e.policy->version, 1);
  EXPECT_EQ(e.policy_text, "planner_policy/1");
  auto plain = read_variant_execution({{"color", "blue"}}, "c");
  EXPECT_FALSE(plain.strategy);
  EXPECT_FALSE(plain.policy);
  auto hybrid = read_variant_execution(
    {{"execution_strategy", "hybrid"}, {"policy_version_id", "p/1"}, {"prompt_version_id", "greet-v2"}}, "c");
  EXPECT_EQ(*hybrid.strategy, execution_strategy::hybrid);
  EXPECT_EQ(*hybrid.prompt_version_id, "greet-v2");
  auto prompt = read_variant_execution({{"execution_strategy", "prompt_template"}, {"prompt_version_id", "x"}}, "c");
  EXPECT_EQ(*prompt.strategy, execution_strategy::prompt_template);
}

TEST(variant_execution, names_each_fault) {
  auto at = [](const char* field) { return std::string{"experiments[0].variants[1].config."} + field; };
  EXPECT_EQ(execution_fault({{"execution_strategy", "llm"}}).rfind(at("execution_strategy") + ": unknown", 0), 0u);
  EXPECT_EQ(execution_fault({{"execution_strategy", 3}}).rfind(at("execution_strategy"), 0), 0u);
  EXPECT_EQ(execution_fault({{"policy_version_id", "uuid-v1"}}).rfind(at("policy_version_id"), 0), 0u);
  EXPECT_EQ(execution_fault({{"policy_version_id", 4}}).rfind(at("policy_version_id"), 0), 0u);
  EXPECT_EQ(execution_fault({{"execution_strategy", "mlflow_model"}}),
            at("policy_version_id") + ": mlflow_model needs the policy_version_id whose model it serves");
  EXPECT_EQ(execution_fault({{"execution_strategy", "hybrid"}, {"prompt_version_id", "x"}}).rfind(at("policy_version_id"), 0),
            0u);
  EXPECT_EQ(execution_fault({{"execution_strategy", "hybrid"}, {"policy_version_id", "p/1"}}).rfind(at("prompt_version_id"), 0),
            0u);
  EXPECT_EQ(execution_fault({{"execution_strategy", "prompt_template"}}).rfind(at("prompt_version_id"), 0), 0u);
  EXPECT_EQ(execution_fault({{"execution_strategy", "prompt_template"}, {"prompt_version_id", "x"},
                             {"policy_version_id", "p/1"}})
              .rfind(at("policy_version_id"), 0),
            0u);
  EXPECT_EQ(execution_fault({{"prompt_version_id", ""}}).rfind(at("prompt_version_id"), 0), 0u);
}
