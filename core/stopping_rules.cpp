#include "core/stopping_rules.hpp"

#include <cmath>
#include <cstdio>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

stop_action parse_action(const json& block, const std::string& path, const char* key) {
  auto* value = optional_member(block, key);
  if (value == nullptr)
    return stop_action::none;
  if (value->is_string() && *value == "stop")
    return stop_action::stop;
  if (value->is_string() && *value == "pause")
    return stop_action::pause;
  throw field_error(member_path(path, key), std::string{key} + " must be stop or pause");
}

double number_of(const json& object, const char* key) {
  auto* v = optional_member(object, key);
  return v != nullptr && v->is_number() ? v->get<double>() : NAN;
}

std::string figure(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

// Every variant in traffic has its units (exposures) and the document is aggregated.
bool enough_units(const json& results, std::uint64_t min_units) {
  if (results.value("status", "") != "ok")
    return false;
  auto* variants = optional_member(results, "variants");
  if (variants == nullptr || !variants->is_array() || variants->empty())
    return false;
  for (auto& v : *variants)
    if (number_of(v, "allocation") > 0 && !(number_of(v, "exposures") >= static_cast<double>(min_units)))
      return false;
  return true;
}

// Calls `f(variant, metric, comparison)` for every comparison of role `role`.
template <class F>
void each_comparison(const json& results, std::string_view role, F&& f) {
  auto* variants = optional_member(results, "variants");
  if (variants == nullptr || !variants->is_array())
    return;
  for (auto& v : *variants) {
    auto* metrics = optional_member(v, "metrics");
    if (metrics == nullptr || !metrics->is_array())
      continue;
    for (auto& m : *metrics)
      if (m.is_object() && m.value("role", "") == role)
        if (auto* cmp = optional_member(m, "vs_control"); cmp != nullptr && cmp->is_object())
          f(v, m, *cmp);
  }
}

std::string metric_text(const json& m) {
  return m.value("event_type", "") + "." + m.value("metric_name", "");
}

} // namespace

std::string_view to_string(stop_action a) noexcept {
  switch (a) {
  case stop_action::none: return "none";
  case stop_action::pause: return "pause";
  case stop_action::stop: return "stop";
  }
  return "none";
}

stopping_rules parse_stopping_rules(const json& block, const std::string& path) {
  if (!block.is_object())
    throw field_error(path, "stopping must be an object: {goal: stop, guardrail: pause, srm: pause}");
  require_known_fields(block, path, {"goal", "guardrail", "srm", "alpha", "min_units"});
  stopping_rules out;
  out.goal = parse_action(block, path, "goal");
  out.guardrail = parse_action(block, path, "guardrail");
  out.srm = parse_action(block, path, "srm");
  if (out.empty())
    throw field_error(path, "stopping names no rule: set goal, guardrail or srm to stop or pause");
  if (auto* alpha = optional_member(block, "alpha")) {
    if (!alpha->is_number() || !(alpha->get<double>() > 0 && alpha->get<double>() <= 0.5))
      throw field_error(member_path(path, "alpha"), "alpha must be a number in (0, 0.5]");
    out.alpha = alpha->get<double>();
  }
  if (auto* units = optional_member(block, "min_units")) {
    if (!units->is_number_integer() || units->get<std::int64_t>() < 2 || units->get<std::int64_t>() > 1000000000)
      throw field_error(member_path(path, "min_units"), "min_units must be a whole number from 2 to 1000000000");
    out.min_units = units->get<std::uint64_t>();
  }
  return out;
}

json stopping_rules_json(const stopping_rules& rules) {
  if (rules.empty())
    return nullptr;
  json out{{"alpha", rules.alpha}, {"min_units", rules.min_units}};
  for (auto [key, action] : {std::pair{"goal", rules.goal}, std::pair{"guardrail", rules.guardrail},
                             std::pair{"srm", rules.srm}})
    if (action != stop_action::none)
      out[key] = std::string{to_string(action)};
  return out;
}

stopping_decision decide_stopping(const json& results, const stopping_rules& rules) {
  stopping_decision out;
  if (rules.empty() || !enough_units(results, rules.min_units))
    return out;
  if (rules.srm != stop_action::none) {
    auto* srm = optional_member(results, "srm");
    if (srm != nullptr && srm->value("mismatch", false)) {
      return {rules.srm, "srm",
              "sample ratio mismatch (chi-square p = " + figure(number_of(*srm, "p_value"))
                + "): units do not reach the variants as allocated"};
    }
  }
  if (rules.guardrail != stop_action::none) {
    std::optional<stopping_decision> fired;
    each_comparison(results, "guardrail", [&](const json& v, const json& m, const json& cmp) {
      auto p = number_of(cmp, "always_valid_p_value"), lift = number_of(cmp, "relative_lift");
      auto margin = std::isnan(number_of(cmp, "margin")) ? 0.0 : number_of(cmp, "margin");
      auto harm = m.value("better", "higher") == "lower" ? lift : -lift;
      if (fired || !(p < rules.alpha) || !(harm > margin))
        return;
      fired = stopping_decision{rules.guardrail, "guardrail",
                                "guardrail " + metric_text(m) + " breached by " + v.value("variant_name", "")
                                  + ": " + figure(100 * harm) + "% worse than control (margin "
                                  + figure(100 * margin) + "%, always-valid p = " + figure(p) + " < "
                                  + figure(rules.alpha) + ")"};
    });
    if (fired)
      return *fired;
  }
  if (rules.goal != stop_action::none) {
    std::optional<stopping_decision> fired;
    each_comparison(results, "goal", [&](const json& v, const json& m, const json& cmp) {
      auto p = number_of(cmp, "always_valid_p_value"), lift = number_of(cmp, "relative_lift");
      if (fired || !(p < rules.alpha))
        return;
      bool lower = m.value("better", "higher") == "lower";
      auto absolute = number_of(cmp, "absolute_lift");
      bool better = lower ? absolute < 0 : absolute > 0;
      auto change = std::isnan(lift) ? "" : " (" + figure(100 * lift) + "%)";
      fired = stopping_decision{rules.goal, "goal",
                                "goal " + metric_text(m) + ": " + v.value("variant_name", "") + " is "
                                  + (better ? "better" : "worse") + " than control" + change
                                  + ", always-valid p = " + figure(p) + " < " + figure(rules.alpha)};
    });
    if (fired)
      return *fired;
  }
  return out;
}

} // namespace expd::core
