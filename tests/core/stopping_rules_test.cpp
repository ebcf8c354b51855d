// Stopping rules: parsed from the experiment's block, and applied to results documents
// that core::experiment_results writes from aggregates the test makes.
#include <gtest/gtest.h>

#include "core/experiment_results.hpp"
#include "core/field_error.hpp"
#include "tests/core/test_uuid.hpp"
#include "core/stopping_rules.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

using expd::test::id_of;

metric_moments metric(const char* event_type, const char* name, per_unit_rule rule, std::uint64_t n,
                      double sum, double sum_sq) {
  metric_moments m;
  m.event_type = event_type;
  m.metric_name = name;
  m.rule = rule;
  m.units = m.units_with_events = m.events = n;
  m.sum = sum;
  m.sum_sq = sum_sq;
  return m;
}

// Control and treatment with `units` each: a conversion goal (rates `goal_t`, `goal_c`)
// and a latency guardrail (means `latency_t`, `latency_c`, sd 10, lower is better).
json results_of(std::uint64_t units, double goal_t, double goal_c, double latency_t, double latency_c,
                std::uint64_t exposures_t = 0) {
  experiment_aggregates a;
  a.experiment_id = id_of(1);
  a.experiment_name = "e";
  a.computed_at = 1700000000000000;
  auto n = static_cast<double>(units);
  auto arm = [&](int id, const char* name, double rate, double latency, std::uint64_t exposed) {
    variant_aggregates v;
    v.variant_id = id_of(id);
    v.variant_name = name;
    v.allocation = 0.5;
    v.exposures = exposed;
    v.metrics = {metric("checkout", "converted", per_unit_rule::any, units, rate * n, rate * n),
                 metric("checkout", "latency_ms", per_unit_rule::mean, units, latency * n,
                        n * (latency * latency + 100))};
    return v;
  };
  a.variants.push_back(arm(2, "control", goal_c, latency_c, units));
  a.variants.push_back(arm(3, "treatment", goal_t, latency_t, exposures_t ? exposures_t : units));
  a.lower_is_better.push_back({"checkout", "latency_ms"});
  a.roles = parse_experiment_metrics(
    json::parse(R"({"goals":["checkout.converted"],"guardrails":[{"metric":"checkout.latency_ms","margin":0.02}]})"),
    "metrics");
  return experiment_results(a);
}

stopping_rules rules_of(const char* text) {
  return parse_stopping_rules(json::parse(text), "stopping");
}

std::string fault_of(const char* text) {
  try {
    rules_of(text);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

} // namespace

TEST(stopping_rules, reads_its_block_and_names_each_fault) {
  auto r = rules_of(R"({"goal":"stop","guardrail":"pause","srm":"pause","alpha":0.01,"min_units":500})");
  EXPECT_EQ(r.goal, stop_action::stop);
  EXPECT_EQ(r.guardrail, stop_action::pause);
  EXPECT_EQ(r.srm, stop_action::pause);
  EXPECT_EQ(r.alpha, 0.01);
  EXPECT_EQ(r.min_units, 500u);
  EXPECT_EQ(parse_stopping_rules(stopping_rules_json(r), "stopping"), r);
  auto defaults = rules_of(R"({"srm":"stop"})");
  EXPECT_EQ(defaults.goal, stop_action::none);
  EXPECT_EQ(defaults.alpha, 0.05);
  EXPECT_EQ(defaults.min_units, 100u);
  EXPECT_TRUE(stopping_rules_json(stopping_rules{}).is_null());

  EXPECT_EQ(fault_of("[]"), "stopping");
  EXPECT_EQ(fault_of("{}"), "stopping");
  EXPECT_EQ(fault_of(R"({"goal":"halt"})"), "stopping.goal");
  EXPECT_EQ(fault_of(R"({"goal":true})"), "stopping.goal");
  EXPECT_EQ(fault_of(R"({"srm":"pause","alpha":0})"), "stopping.alpha");
  EXPECT_EQ(fault_of(R"({"srm":"pause","alpha":0.6})"), "stopping.alpha");
  EXPECT_EQ(fault_of(R"({"srm":"pause","alpha":"5%"})"), "stopping.alpha");
  EXPECT_EQ(fault_of(R"({"srm":"pause","min_units":1})"), "stopping.min_units");
  EXPECT_EQ(fault_of(R"({"srm":"pause","min_units":10.5})"), "stopping.min_units");
  EXPECT_EQ(fault_of(R"({"srm":"pause","after":"1d"})"), "stopping.after");
}

TEST(stopping_rules, a_goal_with_evidence_stops_and_says_which_way) {
  auto rules = rules_of(R"({"goal":"stop"})");
  // 30% against 20% over 2000 units an arm: the always-valid p-value is tiny.
  auto better = decide_stopping(results_of(2000, 0.3, 0.2, 100, 100), rules);
  EXPECT_EQ(better.action, stop_action::stop);
  EXPECT_EQ(better.rule, "goal");
  EXPECT_NE(better.reason.find("goal checkout.converted: treatment is better than control"), std::string::npos)
    << better.reason;
  auto worse = decide_stopping(results_of(2000, 0.1, 0.2, 100, 100), rules);
  EXPECT_NE(worse.reason.find("is worse"), std::string::npos) << worse.reason;
  // No evidence: nothing happens.
  EXPECT_EQ(decide_stopping(results_of(2000, 0.201, 0.2, 100, 100), rules).action, stop_action::none);
}

TEST(stopping_rules, a_breached_guardrail_pauses_and_its_margin_is_respected) {
  auto rules = rules_of(R"({"guardrail":"pause","goal":"stop"})");
  // Latency 10% up (lower is better): harm past the 2% margin, before any goal evidence.
  auto breached = decide_stopping(results_of(2000, 0.3, 0.2, 110, 100), rules);
  EXPECT_EQ(breached.action, stop_action::pause);
  EXPECT_EQ(breached.rule, "guardrail");
  EXPECT_NE(breached.reason.find("guardrail checkout.latency_ms breached by treatment"), std::string::npos)
    << breached.reason;
  // 1% up is within the margin; 10% down is an improvement: the goal decides.
  EXPECT_EQ(decide_stopping(results_of(2000, 0.2, 0.2, 101, 100), rules).action, stop_action::none);
  EXPECT_EQ(decide_stopping(results_of(2000, 0.3, 0.2, 90, 100), rules).rule, "goal");
}

TEST(stopping_rules, a_sample_ratio_mismatch_comes_first) {
  auto rules = rules_of(R"({"srm":"pause","goal":"stop"})");
  auto skewed = decide_stopping(results_of(2000, 0.3, 0.2, 100, 100, 2600), rules);
  EXPECT_EQ(skewed.action, stop_action::pause);
  EXPECT_EQ(skewed.rule, "srm");
  EXPECT_NE(skewed.reason.find("sample ratio mismatch"), std::string::npos);
}

TEST(stopping_rules, nothing_acts_before_min_units_or_an_aggregation) {
  auto rules = rules_of(R"({"goal":"stop","min_units":3000})");
  EXPECT_EQ(decide_stopping(results_of(2000, 0.3, 0.2, 100, 100), rules).action, stop_action::none);
  rules.min_units = 2000;
  EXPECT_EQ(decide_stopping(results_of(2000, 0.3, 0.2, 100, 100), rules).action, stop_action::stop);
  auto never = results_of(2000, 0.3, 0.2, 100, 100);
  never["status"] = "not aggregated yet";
  EXPECT_EQ(decide_stopping(never, rules).action, stop_action::none);
  EXPECT_EQ(decide_stopping(json::object(), rules).action, stop_action::none);
  EXPECT_EQ(decide_stopping(results_of(2000, 0.3, 0.2, 100, 100), stopping_rules{}).action, stop_action::none);
}
