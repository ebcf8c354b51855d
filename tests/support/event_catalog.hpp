#pragma once

// The catalog event validation is tested against, for its unit test and its fuzz
// target: event types with every metric kind, bounded and not, and experiments with
// their variants (one whose name reads as another experiment's id).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/event.hpp"

namespace expd::test {

using core::event_catalog;
using core::experiment;
using core::unix_micros;
using core::uuid;

inline const unix_micros received = *core::parse_rfc3339("2025-01-01T10:00:01Z");
inline const uuid new_id = *uuid::parse("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
inline const uuid planner = *uuid::parse("0f8fad5b-d9cb-469f-a165-70867728950e");
inline const uuid control = *uuid::parse("7c9e6679-7425-40de-944b-e07fc1f90ae7");
inline const uuid treatment = *uuid::parse("16fd2706-8baf-433b-82eb-8c7fada847da");
inline const uuid onboarding = *uuid::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
inline const uuid onboarding_variant = *uuid::parse("6ba7b811-9dad-11d1-80b4-00c04fd430c8");
// An experiment whose name reads as another experiment's id.
inline const char* lookalike_name = "11111111-1111-4111-8111-111111111111";
inline const uuid lookalike = *uuid::parse("22222222-2222-4222-8222-222222222222");

inline experiment make_experiment(uuid id, std::string name, std::vector<uuid> variants) {
  experiment e;
  e.id = id;
  e.name = std::move(name);
  e.unit_type = "user";
  e.status = core::experiment_status::running;
  e.salt = e.name;
  for (auto& v : variants)
    e.variants.push_back({v, "v" + v.str().substr(0, 4), 1.0 / variants.size(),
                          nlohmann::json::object(), "", "", ""});
  return e;
}

inline const event_catalog& catalog() {
  static const event_catalog c{
    core::parse_event_type_document(nlohmann::json::parse(R"({"event_types":[
      {"name":"plan_generated","metrics":{
        "latency_ms":{"type":"number","min":0,"max":60000},
        "items":{"type":"integer","min":-5,"max":100},
        "accepted":{"type":"boolean"},
        "count":{"type":"integer"},
        "score":{"type":"number"}}},
      {"name":"checkout"}]})")),
    std::make_shared<const core::snapshot>(
      1, std::vector<experiment>{
           make_experiment(planner, "planner_policy_exp", {control, treatment}),
           make_experiment(onboarding, "onboarding", {onboarding_variant}),
           make_experiment(lookalike, lookalike_name, {new_id})})};
  return c;
}

} // namespace expd::test
