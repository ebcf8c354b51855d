#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/promotion.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

json request_body() {
  return {{"model", "planner_model/5"},
          {"experiment", "planner_policy_exp"},
          {"allocation", 0.1},
          {"hold", "24h"},
          {"guardrails",
           {{{"metric", "plan_accepted.accepted"}, {"direction", "must_not_decrease"}, {"tolerance", 0.02}},
            {{"metric", "plan_generated.latency_ms"}, {"direction", "must_not_increase"}}}}};
}

std::string fault_of(const json& body) {
  try {
    parse_promotion_request(body);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

experiment running(std::vector<std::pair<std::string, double>> variants) {
  experiment e;
  e.name = "planner_policy_exp";
  e.unit_type = "user";
  e.status = experiment_status::running;
  e.salt = e.name;
  for (auto& [name, allocation] : variants)
    e.variants.push_back({{}, name, allocation, json{{"policy_version_id", "p/" + name}}, "", "", ""});
  return e;
}

double allocation_of(const experiment_spec& s, const std::string& name) {
  for (auto& v : s.variants)
    if (v.name == name)
      return v.allocation;
  return -1;
}

// A results document in GET /v1/experiments/{id}/results's shape.
json results(double accepted_lift, double accepted_p, double exposures = 500) {
  json candidate_metrics = json::array(
    {{{"event_type", "plan_accepted"},
      {"metric_name", "accepted"},
      {"vs_control", {{"relative_lift", accepted_lift}, {"always_valid_p_value", accepted_p}}}},
     {{"event_type", "plan_generated"},
      {"metric_name", "latency_ms"},
      {"vs_control", {{"relative_lift", 0.5}, {"always_valid_p_value", 0.4}}}}});
  return {{"srm", {{"mismatch", true}}}, // the whole window's; read_promotion leaves it
          {"variants",
           {{{"variant_name", "control"}, {"exposures", 5000}, {"metrics", json::array()}},
            {{"variant_name", "candidate_planner_model_v5"}, {"exposures", exposures}, {"metrics", candidate_metrics}}}}};
}

constexpr unix_micros day = 86400LL * 1000000;

} // namespace

TEST(promotion_request, reads_defaults_and_round_trips) {
  auto r = parse_promotion_request(request_body());
  EXPECT_EQ(r.model_name, "planner_model");
  EXPECT_EQ(r.model_version, 5);
  EXPECT_EQ(r.variant, "candidate_planner_model_v5");
  EXPECT_EQ(r.baseline, "control");
  EXPECT_EQ(r.steps, (std::vector<double>{0.1, 0.25, 0.5}));
  EXPECT_EQ(r.hold_seconds, 86400);
  ASSERT_EQ(r.guardrails.size(), 2u);
  EXPECT_EQ(r.guardrails[1].direction, guardrail_direction::must_not_increase);
  EXPECT_EQ(r.guardrails[0].tolerance, 0.02);
  auto again = parse_promotion_request(promotion_request_json(r));
  EXPECT_EQ(promotion_request_json(again), promotion_request_json(r));
  for (auto [hold, seconds] : std::vector<std::pair<json, std::int64_t>>{{"30m", 1800}, {"2d", 172800}, {45, 45}, {"90s", 90}}) {
    auto body = request_body();
    body["hold"] = hold;
    EXPECT_EQ(parse_promotion_request(body).hold_seconds, seconds) << hold;
  }
}

TEST(promotion_request, always_begins_with_at_most_ten_percent) {
  auto body = request_body();
  body["allocation"] = 0.2;
  try {
    parse_promotion_request(body);
    FAIL() << "0.2 accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.field(), "allocation");
    EXPECT_NE(std::string{e.what()}.find("<= 10%"), std::string::npos) << e.what();
  }
  body["allocation"] = 0.1;
  EXPECT_EQ(fault_of(body), "no error");
}

TEST(promotion_request, names_the_field_of_each_fault) {
  auto with = [](const char* key, json value) {
    auto body = request_body();
    if (value.is_null())
      body.erase(key);
    else
      body[key] = value;
    return fault_of(body);
  };
  EXPECT_EQ(fault_of(json::array()), "body");
  EXPECT_EQ(with("model", nullptr), "model");
  for (auto bad : {"planner_model", "planner_model/0", "0b7c5a9e-3f2d-4c1e-9a8b-7d6e5f4a3b2c", "a b/1"})
    EXPECT_EQ(with("model", bad), "model") << bad;
  EXPECT_EQ(with("experiment", "bad name"), "experiment");
  EXPECT_EQ(with("allocation", nullptr), "allocation");
  EXPECT_EQ(with("allocation", 0), "allocation");
  EXPECT_EQ(with("allocation", "0.1"), "allocation");
  EXPECT_EQ(with("steps", json::array({0.05})), "steps[0]");
  EXPECT_EQ(with("steps", json::array({0.3, 0.2})), "steps[1]");
  EXPECT_EQ(with("steps", json::array({1.5})), "steps[0]");
  EXPECT_EQ(with("hold", "1w"), "hold");
  EXPECT_EQ(with("hold", "-5m"), "hold");
  EXPECT_EQ(with("hold", 91 * 86400), "hold");
  EXPECT_EQ(with("alpha", 0.7), "alpha");
  EXPECT_EQ(with("min_exposures", 1.5), "min_exposures");
  EXPECT_EQ(with("retire_baseline", "yes"), "retire_baseline");
  EXPECT_EQ(with("owner", "x"), "owner");
  EXPECT_EQ(with("guardrails", json::array({{{"metric", "accepted"}, {"direction", "must_not_decrease"}}})),
            "guardrails[0].metric");
  EXPECT_EQ(with("guardrails", json::array({{{"metric", "a.b"}, {"direction", "up"}}})), "guardrails[0].direction");
  EXPECT_EQ(with("guardrails", json::array({{{"metric", "a.b"}, {"direction", "must_not_decrease"}, {"tolerance", 1}}})),
            "guardrails[0].tolerance");
}

TEST(promotion_spec, the_candidate_takes_its_share_from_the_baseline_and_free_buckets_first) {
  auto r = parse_promotion_request(request_body());
  auto full = spec_with_candidate(running({{"control", 0.5}, {"leftovers_v2", 0.5}}), r, "pv-5",
                                  json{{"max_new_tokens", 96}});
  ASSERT_EQ(full.variants.size(), 3u);
  EXPECT_EQ(full.variants[0].name, "control"); // order kept: ranges stay consecutive
  EXPECT_DOUBLE_EQ(allocation_of(full, "control"), 0.4);
  EXPECT_DOUBLE_EQ(allocation_of(full, "leftovers_v2"), 0.5);
  EXPECT_DOUBLE_EQ(allocation_of(full, "candidate_planner_model_v5"), 0.1);
  EXPECT_EQ(full.variants[2].config, json({{"max_new_tokens", 96}, {"policy_version_id", "pv-5"},
                                           {"execution_strategy", "mlflow_model"}}));
  EXPECT_EQ(full.status, experiment_status::running);

  auto partly = spec_with_candidate(running({{"control", 0.4}, {"leftovers_v2", 0.5}}), r, "pv-5", json::object());
  EXPECT_DOUBLE_EQ(allocation_of(partly, "control"), 0.4);
  auto half_free = spec_with_candidate(running({{"control", 0.45}, {"leftovers_v2", 0.5}}), r, "pv-5", json::object());
  EXPECT_DOUBLE_EQ(allocation_of(half_free, "control"), 0.4);

  auto fault = [&](experiment e, promotion_request req) -> std::string {
    try {
      spec_with_candidate(e, req, "pv", json::object());
    } catch (const field_error& err) {
      return err.field();
    }
    return "no error";
  };
  auto other = r;
  other.baseline = "nobody";
  EXPECT_EQ(fault(running({{"control", 0.5}}), other), "baseline");
  auto taken = r;
  taken.variant = "leftovers_v2";
  EXPECT_EQ(fault(running({{"control", 0.5}, {"leftovers_v2", 0.5}}), taken), "variant");
  EXPECT_EQ(fault(running({{"control", 0.05}, {"leftovers_v2", 0.95}}), r), "allocation");
}

TEST(promotion_spec, steps_and_roll_backs_move_shares_between_candidate_and_baseline) {
  auto e = running({{"control", 0.4}, {"leftovers_v2", 0.5}, {"cand", 0.1}});
  auto raised = spec_with_allocation(e, "cand", "control", 0.25);
  EXPECT_DOUBLE_EQ(allocation_of(raised, "cand"), 0.25);
  EXPECT_DOUBLE_EQ(allocation_of(raised, "control"), 0.25);
  EXPECT_DOUBLE_EQ(allocation_of(raised, "leftovers_v2"), 0.5);
  auto back = spec_with_allocation(e, "cand", "control", 0);
  EXPECT_DOUBLE_EQ(allocation_of(back, "cand"), 0);
  EXPECT_DOUBLE_EQ(allocation_of(back, "control"), 0.5);
  auto retired = spec_with_allocation(e, "cand", "control", 0.5);
  EXPECT_DOUBLE_EQ(allocation_of(retired, "control"), 0);
  EXPECT_THROW(spec_with_allocation(e, "cand", "control", 0.6), field_error);
  EXPECT_THROW(spec_with_allocation(e, "nobody", "control", 0.2), field_error);
}

TEST(promotion_reading, a_guardrail_breaks_on_significant_harm_beyond_its_tolerance) {
  auto r = parse_promotion_request(request_body());
  auto harm = read_promotion(results(-0.05, 0.01), r.variant, r.guardrails, r.alpha);
  ASSERT_EQ(harm.guardrails.size(), 2u);
  EXPECT_EQ(harm.guardrails[0].status, "breached");
  EXPECT_EQ(harm.guardrails[1].status, "ok"); // +50% latency, but p 0.4
  EXPECT_EQ(harm.candidate_exposures, 500u);
  // Within the tolerance, not significant, or the good way: held.
  EXPECT_EQ(read_promotion(results(-0.01, 0.001), r.variant, r.guardrails, r.alpha).guardrails[0].status, "ok");
  EXPECT_EQ(read_promotion(results(-0.05, 0.2), r.variant, r.guardrails, r.alpha).guardrails[0].status, "ok");
  EXPECT_EQ(read_promotion(results(0.05, 0.001), r.variant, r.guardrails, r.alpha).guardrails[0].status, "ok");
  auto missing = results(0, 1);
  missing["variants"][1]["metrics"][0]["vs_control"] = {{"status", "not enough data"}};
  EXPECT_EQ(read_promotion(missing, r.variant, r.guardrails, r.alpha).guardrails[0].status, "no data");
  EXPECT_EQ(read_promotion(results(0, 1), "nobody", r.guardrails, r.alpha).guardrails[0].status, "no data");
  EXPECT_FALSE(read_promotion(results(0, 1), r.variant, r.guardrails, r.alpha).srm_mismatch);
}

TEST(promotion_decision, rolls_back_on_harm_holds_then_raises_then_completes) {
  auto r = parse_promotion_request(request_body());
  auto fine = read_promotion(results(0.01, 0.5), r.variant, r.guardrails, r.alpha);
  promotion_progress first{0, 10 * day};
  auto early = decide_promotion(r, first, fine, 10 * day + day / 2);
  EXPECT_EQ(early.step, promotion_step::hold);
  EXPECT_DOUBLE_EQ(early.allocation, 0.1);
  auto later = decide_promotion(r, first, fine, 11 * day);
  EXPECT_EQ(later.step, promotion_step::raise);
  EXPECT_DOUBLE_EQ(later.allocation, 0.25);
  auto few = read_promotion(results(0.01, 0.5, 40), r.variant, r.guardrails, r.alpha);
  EXPECT_EQ(decide_promotion(r, first, few, 11 * day).step, promotion_step::hold);
  auto last = decide_promotion(r, {2, 10 * day}, fine, 11 * day);
  EXPECT_EQ(last.step, promotion_step::complete);

  // Harm or a mismatch rolls back at once, even inside the hold.
  auto harm = read_promotion(results(-0.05, 0.01), r.variant, r.guardrails, r.alpha);
  auto back = decide_promotion(r, first, harm, 10 * day + 1);
  EXPECT_EQ(back.step, promotion_step::roll_back);
  EXPECT_DOUBLE_EQ(back.allocation, 0);
  EXPECT_NE(back.reason.find("plan_accepted.accepted breached: relative change -5.00%"), std::string::npos) << back.reason;
  auto srm = fine;
  srm.srm_mismatch = true;
  EXPECT_EQ(decide_promotion(r, first, srm, 10 * day + 1).step, promotion_step::roll_back);
}
