#include "core/metric_roles.hpp"

#include <algorithm>
#include <cmath>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

constexpr std::size_t max_ref_bytes = 2 * 128 + 1;

void add(experiment_metrics& out, metric_role_spec spec, const std::string& field) {
  if (out.find(spec.metric.event_type, spec.metric.metric_name) != nullptr)
    throw field_error(field, spec.metric.text() + " is named twice: a metric has one role");
  if (out.metrics.size() == max_experiment_metrics)
    throw field_error(field, "more than " + std::to_string(max_experiment_metrics) + " metrics");
  out.metrics.push_back(std::move(spec));
}

const json* role_list(const json& block, const std::string& path, const char* key) {
  auto* list = optional_member(block, key);
  if (list != nullptr && !list->is_array())
    throw field_error(member_path(path, key), std::string{key} + " must be a list of EVENT_TYPE.METRIC");
  return list;
}

metric_ref ref_at(const json& item, const std::string& field) {
  if (!item.is_string() || item.get_ref<const std::string&>().size() > max_ref_bytes)
    throw field_error(field, "a metric must be EVENT_TYPE.METRIC (plan_accepted.accepted)");
  return parse_metric_ref(item.get<std::string>(), field);
}

metric_role_spec guardrail_at(const json& item, const std::string& field) {
  if (item.is_string())
    return {ref_at(item, field), metric_role::guardrail, 0};
  if (!item.is_object())
    throw field_error(field, "a guardrail is EVENT_TYPE.METRIC or {metric: EVENT_TYPE.METRIC, margin: 0.05}");
  require_known_fields(item, field, {"metric", "margin"});
  auto* metric = optional_member(item, "metric");
  if (metric == nullptr)
    throw field_error(field + ".metric", "metric is required");
  metric_role_spec spec{ref_at(*metric, field + ".metric"), metric_role::guardrail, 0};
  if (auto* margin = optional_member(item, "margin")) {
    if (!margin->is_number() || !(margin->get<double>() >= 0 && margin->get<double>() < 1))
      throw field_error(field + ".margin", "margin must be a relative change in [0, 1) (0.05: 5% worse)");
    spec.margin = margin->get<double>();
  }
  return spec;
}

} // namespace

std::string_view to_string(metric_direction d) noexcept {
  return d == metric_direction::lower ? "lower" : "higher";
}

std::string_view to_string(metric_role r) noexcept {
  switch (r) {
  case metric_role::goal: return "goal";
  case metric_role::secondary: return "secondary";
  case metric_role::guardrail: return "guardrail";
  case metric_role::exploratory: return "exploratory";
  }
  return "goal";
}

std::string metric_ref::text() const {
  return event_type + "." + metric_name;
}

metric_ref parse_metric_ref(const std::string& text, const std::string& field) {
  auto dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size())
    throw field_error(field, "metric must be EVENT_TYPE.METRIC (plan_accepted.accepted)");
  metric_ref out{text.substr(0, dot), text.substr(dot + 1)};
  check_identifier(out.event_type, field, "the event type", 128);
  check_identifier(out.metric_name, field, "the metric", 128);
  return out;
}

const metric_role_spec* experiment_metrics::find(std::string_view event_type,
                                                 std::string_view metric_name) const noexcept {
  auto it = std::find_if(metrics.begin(), metrics.end(), [&](const metric_role_spec& m) {
    return m.metric.event_type == event_type && m.metric.metric_name == metric_name;
  });
  return it == metrics.end() ? nullptr : &*it;
}

experiment_metrics parse_experiment_metrics(const json& block, const std::string& path) {
  if (!block.is_object())
    throw field_error(path, "metrics must be an object: {goals: [...], secondary: [...], guardrails: [...]}");
  require_known_fields(block, path, {"goals", "secondary", "guardrails"});
  experiment_metrics out;
  for (auto [key, role] : {std::pair{"goals", metric_role::goal}, std::pair{"secondary", metric_role::secondary}})
    if (auto* list = role_list(block, path, key))
      for (std::size_t i = 0; i < list->size(); ++i) {
        auto field = member_path(path, key) + "[" + std::to_string(i) + "]";
        add(out, {ref_at((*list)[i], field), role, 0}, field);
      }
  if (auto* list = role_list(block, path, "guardrails"))
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto field = member_path(path, "guardrails") + "[" + std::to_string(i) + "]";
      add(out, guardrail_at((*list)[i], field), field);
    }
  return out;
}

json experiment_metrics_json(const experiment_metrics& m) {
  if (m.empty())
    return nullptr;
  json goals = json::array(), secondary = json::array(), guardrails = json::array();
  for (auto& spec : m.metrics) {
    if (spec.role == metric_role::goal)
      goals.push_back(spec.metric.text());
    else if (spec.role == metric_role::secondary)
      secondary.push_back(spec.metric.text());
    else if (spec.role == metric_role::guardrail)
      guardrails.push_back({{"metric", spec.metric.text()}, {"margin", spec.margin}});
  }
  json out = json::object();
  if (!goals.empty())
    out["goals"] = std::move(goals);
  if (!secondary.empty())
    out["secondary"] = std::move(secondary);
  if (!guardrails.empty())
    out["guardrails"] = std::move(guardrails);
  return out;
}

} // namespace expd::core
