#include "core/promotion.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/bucketing.hpp"
#include "core/field_error.hpp"
#include "core/json_fields.hpp"
#include "core/metric_roles.hpp"
#include "core/policy_document.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

double number(const json& body, const char* key, double fallback) {
  auto* v = optional_member(body, key);
  if (v == nullptr)
    return fallback;
  if (!v->is_number())
    throw field_error(key, std::string{key} + " must be a number");
  return v->get<double>();
}

std::int64_t parse_hold(const json& v) {
  constexpr std::int64_t max_hold = 90LL * 86400;
  std::int64_t seconds = -1;
  if (v.is_number_integer()) {
    seconds = v.get<std::int64_t>();
  } else if (v.is_string()) {
    auto text = v.get<std::string>();
    std::size_t used = 0;
    long long n = -1;
    try {
      n = std::stoll(text, &used);
    } catch (const std::exception&) {
      n = -1;
    }
    auto unit = text.substr(std::min(used, text.size()));
    std::int64_t scale = unit == "s" || unit.empty() ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
    if (n >= 0 && scale > 0 && !text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
      seconds = n * scale;
  }
  if (seconds < 0 || seconds > max_hold)
    throw field_error("hold", "hold must be seconds or a duration like 30m, 24h, 2d, at most 90 days");
  return seconds;
}

guardrail parse_guardrail(const json& g, const std::string& path) {
  if (!g.is_object())
    throw field_error(path, "a guardrail must be an object: {metric: EVENT_TYPE.METRIC, direction, tolerance}");
  require_known_fields(g, path, {"metric", "direction", "tolerance"});
  guardrail out;
  auto ref = parse_metric_ref(required_string(g, path, "metric"), path + ".metric");
  out.event_type = std::move(ref.event_type);
  out.metric_name = std::move(ref.metric_name);
  auto& direction = required_string(g, path, "direction");
  if (direction == "must_not_decrease")
    out.direction = guardrail_direction::must_not_decrease;
  else if (direction == "must_not_increase")
    out.direction = guardrail_direction::must_not_increase;
  else
    throw field_error(path + ".direction", "direction must be must_not_decrease or must_not_increase");
  if (auto* t = optional_member(g, "tolerance")) {
    if (!t->is_number() || !(t->get<double>() >= 0 && t->get<double>() < 1))
      throw field_error(path + ".tolerance", "tolerance must be a relative change in [0, 1)");
    out.tolerance = t->get<double>();
  }
  return out;
}

experiment_spec spec_of(const experiment& e) {
  experiment_spec s;
  s.name = e.name;
  s.unit_type = e.unit_type;
  s.description = e.description;
  s.status = e.status;
  s.salt = e.salt;
  s.condition = e.condition_spec;
  s.cuped_pre_period_days = e.cuped_pre_period_days;
  s.metrics = e.metrics;
  s.stopping = e.stopping;
  for (auto& v : e.variants)
    s.variants.push_back({v.name, v.allocation, v.config});
  return s;
}

variant_spec* find_variant(experiment_spec& s, const std::string& name) {
  for (auto& v : s.variants)
    if (v.name == name)
      return &v;
  return nullptr;
}

// Allocations move in whole buckets, so a share given and taken back is exact.
double buckets(double allocation) {
  return std::round(allocation * bucket_count) / bucket_count;
}

} // namespace

std::string_view to_string(guardrail_direction d) noexcept {
  return d == guardrail_direction::must_not_decrease ? "must_not_decrease" : "must_not_increase";
}

std::string_view to_string(promotion_step s) noexcept {
  switch (s) {
    case promotion_step::hold:
      return "hold";
    case promotion_step::raise:
      return "raise";
    case promotion_step::complete:
      return "complete";
    case promotion_step::roll_back:
      return "roll_back";
  }
  return "hold";
}

promotion_request parse_promotion_request(const json& body) {
  if (!body.is_object())
    throw field_error("body", "the body must be a JSON object");
  require_known_fields(body, "", {"model", "experiment", "variant", "baseline", "policy", "allocation", "steps",
                                  "hold", "min_exposures", "alpha", "guardrails", "retire_baseline"});
  promotion_request r;
  auto& model = required_string(body, "", "model");
  auto ref = parse_policy_reference(model);
  if (!ref || ref->id)
    throw field_error("model", "model must be MODEL/VERSION, a version MLflow registered (planner_model/5)");
  r.model_name = ref->policy;
  r.model_version = ref->version;
  r.experiment = identifier(body, "", "experiment", 128);
  r.variant = body.contains("variant") ? identifier(body, "", "variant", 128)
                                       : "candidate_" + r.model_name + "_v" + std::to_string(r.model_version);
  check_identifier(r.variant, "variant", "variant", 128);
  if (body.contains("baseline"))
    r.baseline = identifier(body, "", "baseline", 128);
  if (body.contains("policy"))
    r.policy = identifier(body, "", "policy", 128);
  auto* first = optional_member(body, "allocation");
  if (first == nullptr)
    throw field_error("allocation", "allocation is required: the candidate's first share, at most 0.1");
  if (!first->is_number() || !(first->get<double>() > 0))
    throw field_error("allocation", "allocation must be a number above 0");
  double start = first->get<double>();
  if (start > max_first_allocation + 1e-12)
    throw field_error("allocation", "a promotion always begins with <= 10% of the units; " + std::to_string(start)
                                      + " is more (raise it later by steps)");
  r.steps.push_back(start);
  if (auto* steps = optional_member(body, "steps")) {
    if (!steps->is_array() || steps->size() > 20)
      throw field_error("steps", "steps must be a list of at most 20 allocations, each above the one before");
    for (std::size_t i = 0; i < steps->size(); ++i) {
      auto path = "steps[" + std::to_string(i) + "]";
      auto& s = (*steps)[i];
      if (!s.is_number() || !(s.get<double>() > r.steps.back() && s.get<double>() <= 1))
        throw field_error(path, "each step must be above the one before (" + std::to_string(r.steps.back())
                                  + ") and at most 1");
      r.steps.push_back(s.get<double>());
    }
  } else {
    for (double s : {0.25, 0.5})
      if (s > start)
        r.steps.push_back(s);
  }
  if (auto* hold = optional_member(body, "hold"))
    r.hold_seconds = parse_hold(*hold);
  double min_exposures = number(body, "min_exposures", static_cast<double>(r.min_exposures));
  if (!(min_exposures >= 0 && min_exposures <= 1e9) || std::floor(min_exposures) != min_exposures)
    throw field_error("min_exposures", "min_exposures must be a whole number in [0, 10^9]");
  r.min_exposures = static_cast<std::uint64_t>(min_exposures);
  r.alpha = number(body, "alpha", r.alpha);
  if (!(r.alpha > 0 && r.alpha < 0.5))
    throw field_error("alpha", "alpha must lie in (0, 0.5)");
  if (auto* rails = optional_member(body, "guardrails")) {
    if (!rails->is_array() || rails->size() > 50)
      throw field_error("guardrails", "guardrails must be a list of at most 50");
    for (std::size_t i = 0; i < rails->size(); ++i)
      r.guardrails.push_back(parse_guardrail((*rails)[i], "guardrails[" + std::to_string(i) + "]"));
  }
  if (auto* retire = optional_member(body, "retire_baseline")) {
    if (!retire->is_boolean())
      throw field_error("retire_baseline", "retire_baseline must be true or false");
    r.retire_baseline = retire->get<bool>();
  }
  return r;
}

experiment_spec spec_with_candidate(const experiment& current, const promotion_request& request,
                                    const std::string& policy_version_id, const json& config_defaults) {
  auto spec = spec_of(current);
  auto* baseline = find_variant(spec, request.baseline);
  if (baseline == nullptr)
    throw field_error("baseline", current.name + " has no variant " + request.baseline);
  if (find_variant(spec, request.variant) != nullptr)
    throw field_error("variant", current.name + " has a variant " + request.variant + " already");
  double first = buckets(request.steps.front());
  double room = 1.0;
  for (auto& v : spec.variants)
    room -= buckets(v.allocation);
  // Free buckets are taken first, so a partly allocated experiment keeps its baseline.
  double taken = std::max(0.0, first - std::max(0.0, room));
  if (buckets(baseline->allocation) + 1e-12 < taken)
    throw field_error("allocation", request.baseline + " holds " + std::to_string(baseline->allocation)
                                      + " of the units, less than the " + std::to_string(first)
                                      + " the candidate would take");
  baseline->allocation = buckets(baseline->allocation - taken);
  json config = config_defaults.is_object() ? config_defaults : json::object();
  config["policy_version_id"] = policy_version_id;
  config["execution_strategy"] = "mlflow_model";
  spec.variants.push_back({request.variant, first, std::move(config)});
  return spec;
}

experiment_spec spec_with_allocation(const experiment& current, const std::string& candidate,
                                     const std::string& baseline, double allocation) {
  auto spec = spec_of(current);
  auto* c = find_variant(spec, candidate);
  auto* b = find_variant(spec, baseline);
  if (c == nullptr || b == nullptr)
    throw field_error(c == nullptr ? "variant" : "baseline",
                      current.name + " has no variant " + (c == nullptr ? candidate : baseline));
  double delta = buckets(allocation) - buckets(c->allocation);
  if (buckets(b->allocation) - delta < -1e-12)
    throw field_error("allocation", baseline + " holds " + std::to_string(b->allocation) + ", less than the "
                                      + std::to_string(delta) + " the candidate would take");
  c->allocation = buckets(allocation);
  b->allocation = buckets(b->allocation - delta);
  return spec;
}

promotion_reading read_promotion(const json& results, const std::string& candidate,
                                 const std::vector<guardrail>& guardrails, double alpha) {
  promotion_reading out;
  const json* variant = nullptr;
  if (auto* variants = optional_member(results, "variants"); variants != nullptr && variants->is_array())
    for (auto& v : *variants)
      if (v.is_object() && v.value("variant_name", "") == candidate)
        variant = &v;
  if (variant != nullptr) {
    auto exposures = variant->value("exposures", 0.0);
    out.candidate_exposures = exposures > 0 ? static_cast<std::uint64_t>(exposures) : 0;
  }
  for (auto& rule : guardrails) {
    guardrail_reading reading{rule, "no data", std::nullopt, std::nullopt};
    const json* comparison = nullptr;
    if (variant != nullptr)
      if (auto* metrics = optional_member(*variant, "metrics"); metrics != nullptr && metrics->is_array())
        for (auto& m : *metrics)
          if (m.is_object() && m.value("event_type", "") == rule.event_type
              && m.value("metric_name", "") == rule.metric_name)
            comparison = optional_member(m, "vs_control");
    if (comparison != nullptr && comparison->is_object()) {
      auto lift = optional_member(*comparison, "relative_lift");
      auto p = optional_member(*comparison, "always_valid_p_value");
      if (lift != nullptr && lift->is_number() && p != nullptr && p->is_number()) {
        reading.relative_lift = lift->get<double>();
        reading.always_valid_p_value = p->get<double>();
        double harm = rule.direction == guardrail_direction::must_not_decrease ? -*reading.relative_lift
                                                                               : *reading.relative_lift;
        reading.status = harm > rule.tolerance && *reading.always_valid_p_value < alpha ? "breached" : "ok";
      }
    }
    out.guardrails.push_back(std::move(reading));
  }
  return out;
}

promotion_decision decide_promotion(const promotion_request& request, const promotion_progress& progress,
                                    const promotion_reading& reading, unix_micros now) {
  double allocation = request.steps.at(progress.step_index);
  if (reading.srm_mismatch)
    return {promotion_step::roll_back, 0, "sample ratio mismatch: the split is not what was allocated"};
  for (auto& g : reading.guardrails)
    if (g.status == "breached") {
      char text[160];
      std::snprintf(text, sizeof text, "guardrail %s.%s breached: relative change %+.2f%% (tolerance %.2f%%), "
                                       "always-valid p %.3g < %.3g",
                    g.rule.event_type.c_str(), g.rule.metric_name.c_str(), *g.relative_lift * 100,
                    g.rule.tolerance * 100, *g.always_valid_p_value, request.alpha);
      return {promotion_step::roll_back, 0, text};
    }
  auto held = (now - progress.step_started_at) / 1000000;
  if (held < request.hold_seconds)
    return {promotion_step::hold, allocation,
            "holding " + std::to_string(allocation) + " for " + std::to_string(request.hold_seconds - held)
              + " s more"};
  if (reading.candidate_exposures < request.min_exposures)
    return {promotion_step::hold, allocation,
            "waiting for " + std::to_string(request.min_exposures) + " exposures of the candidate ("
              + std::to_string(reading.candidate_exposures) + " so far)"};
  for (auto& g : reading.guardrails)
    if (g.status == "no data")
      return {promotion_step::hold, allocation,
              "guardrail " + g.rule.event_type + "." + g.rule.metric_name + " has no data yet"};
  if (progress.step_index + 1 < request.steps.size())
    return {promotion_step::raise, request.steps[progress.step_index + 1],
            "guardrails held for " + std::to_string(held) + " s at " + std::to_string(allocation)};
  return {promotion_step::complete, allocation,
          "guardrails held at the last step (" + std::to_string(allocation) + ") for " + std::to_string(held) + " s"};
}

json promotion_request_json(const promotion_request& r) {
  json rails = json::array();
  for (auto& g : r.guardrails)
    rails.push_back({{"metric", g.event_type + "." + g.metric_name},
                     {"direction", to_string(g.direction)},
                     {"tolerance", g.tolerance}});
  json rest = std::vector<double>(r.steps.begin() + 1, r.steps.end());
  json out = {{"model", r.model_name + "/" + std::to_string(r.model_version)},
              {"experiment", r.experiment},
              {"variant", r.variant},
              {"baseline", r.baseline},
              {"allocation", r.steps.front()},
              {"steps", rest},
              {"hold", r.hold_seconds},
              {"min_exposures", r.min_exposures},
              {"alpha", r.alpha},
              {"guardrails", rails},
              {"retire_baseline", r.retire_baseline}};
  if (!r.policy.empty())
    out["policy"] = r.policy;
  return out;
}

} // namespace expd::core
