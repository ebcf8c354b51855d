#include "core/event_type.hpp"

#include <algorithm>
#include <cmath>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

constexpr std::size_t max_name_length = 128;
constexpr std::size_t max_unit_bytes = 64;
constexpr std::size_t max_description_bytes = 4096;

std::optional<metric_kind> parse_kind(std::string_view text) noexcept {
  for (auto kind : {metric_kind::number, metric_kind::integer, metric_kind::boolean})
    if (text == to_string(kind))
      return kind;
  return std::nullopt;
}

// A bound is compared with every value of its metric, so it must be one such a value
// could have: finite, and whole for an integer metric.
std::optional<double> parse_bound(const json& m, const std::string& path, const char* key,
                                  metric_kind kind) {
  auto* bound = optional_member(m, key);
  if (!bound)
    return std::nullopt;
  auto field = path + "." + key;
  if (kind == metric_kind::boolean)
    throw field_error(field, std::string{"a boolean metric has no "} + key);
  if (!bound->is_number())
    throw field_error(field, std::string{key} + " must be a number");
  auto value = bound->get<double>();
  if (!std::isfinite(value))
    throw field_error(field, std::string{key} + " must be a finite number");
  if (kind == metric_kind::integer && std::floor(value) != value)
    throw field_error(field, std::string{key} + " of an integer metric must be a whole number");
  return value;
}

metric_spec parse_metric(const std::string& name, const json& m, const std::string& path) {
  check_identifier(name, path, "a metric name", max_name_length);
  if (!m.is_object())
    throw field_error(path, "a metric must be an object such as {\"type\":\"number\"}");
  require_known_fields(m, path, {"type", "min", "max", "unit", "description", "per_unit", "better"});
  metric_spec spec;
  spec.name = name;
  auto& type = required_string(m, path, "type");
  auto kind = parse_kind(type);
  if (!kind)
    throw field_error(path + ".type", "unknown type \"" + type + "\" (number, integer, boolean)");
  spec.kind = *kind;
  spec.min = parse_bound(m, path, "min", spec.kind);
  spec.max = parse_bound(m, path, "max", spec.kind);
  if (spec.min && spec.max && *spec.min > *spec.max)
    throw field_error(path + ".min", "min " + number_json(*spec.min).dump() + " is above max "
                                       + number_json(*spec.max).dump());
  spec.unit = optional_string(m, path, "unit", max_unit_bytes).value_or("");
  spec.description = optional_string(m, path, "description", max_description_bytes)
                       .value_or("");
  spec.per_unit = default_per_unit_rule(spec.kind);
  if (auto rule = optional_string(m, path, "per_unit", 16)) {
    auto parsed = parse_per_unit_rule(*rule);
    if (!parsed)
      throw field_error(path + ".per_unit", "unknown per_unit \"" + *rule + "\" (sum, any, mean)");
    spec.per_unit = *parsed;
  }
  if (auto better = optional_string(m, path, "better", 16)) {
    if (*better == "lower")
      spec.better = metric_direction::lower;
    else if (*better != "higher")
      throw field_error(path + ".better", "better must be higher or lower");
  }
  return spec;
}

event_type parse_event_type(const json& t, const std::string& path,
                            const event_type_document_limits& limits) {
  if (!t.is_object())
    throw field_error(path, "an event type must be an object");
  require_known_fields(t, path, {"name", "description", "metrics"});
  event_type type;
  type.name = identifier(t, path, "name", max_name_length);
  type.description = optional_string(t, path, "description", max_description_bytes)
                       .value_or("");
  auto* metrics = optional_member(t, "metrics");
  if (!metrics)
    return type;
  auto mpath = path + ".metrics";
  if (!metrics->is_object())
    throw field_error(mpath, "metrics must be an object from metric name to its spec");
  if (metrics->size() > limits.max_metrics)
    throw field_error(mpath, "more than " + std::to_string(limits.max_metrics) + " metrics");
  // A json object iterates in key order, so the metrics come out sorted by name.
  for (auto& [name, spec] : metrics->items())
    type.metrics.push_back(parse_metric(name, spec, mpath + "." + name));
  return type;
}

} // namespace

std::string_view to_string(metric_kind k) noexcept {
  switch (k) {
  case metric_kind::number: return "number";
  case metric_kind::integer: return "integer";
  case metric_kind::boolean: return "boolean";
  }
  return "number";
}

std::string_view to_string(per_unit_rule r) noexcept {
  switch (r) {
  case per_unit_rule::sum: return "sum";
  case per_unit_rule::any: return "any";
  case per_unit_rule::mean: return "mean";
  }
  return "sum";
}

std::optional<per_unit_rule> parse_per_unit_rule(std::string_view text) noexcept {
  for (auto rule : {per_unit_rule::sum, per_unit_rule::any, per_unit_rule::mean})
    if (text == to_string(rule))
      return rule;
  return std::nullopt;
}

per_unit_rule default_per_unit_rule(metric_kind kind) noexcept {
  return kind == metric_kind::boolean ? per_unit_rule::any : per_unit_rule::sum;
}

const metric_spec* event_type::find_metric(std::string_view name) const noexcept {
  auto it = std::lower_bound(metrics.begin(), metrics.end(), name,
                             [](const metric_spec& m, std::string_view n) { return m.name < n; });
  return it != metrics.end() && it->name == name ? &*it : nullptr;
}

const event_type* find_event_type(const std::vector<event_type>& types, std::string_view name) noexcept {
  auto it = std::lower_bound(types.begin(), types.end(), name,
                             [](const event_type& t, std::string_view n) { return t.name < n; });
  return it != types.end() && it->name == name ? &*it : nullptr;
}

std::vector<event_type> parse_event_type_document(const json& doc,
                                                  const event_type_document_limits& limits) {
  auto types = parse_named_list(doc, "event_types", limits.max_event_types, "event type",
                                [&limits](const json& t, const std::string& path) {
                                  return parse_event_type(t, path, limits);
                                });
  std::sort(types.begin(), types.end(),
            [](const event_type& a, const event_type& b) { return a.name < b.name; });
  return types;
}

json metrics_to_json(const event_type& t) {
  json out = json::object();
  for (auto& m : t.metrics) {
    json spec = {{"type", std::string{to_string(m.kind)}}};
    if (m.min)
      spec["min"] = number_json(*m.min);
    if (m.max)
      spec["max"] = number_json(*m.max);
    if (!m.unit.empty())
      spec["unit"] = m.unit;
    if (!m.description.empty())
      spec["description"] = m.description;
    if (m.per_unit != default_per_unit_rule(m.kind))
      spec["per_unit"] = std::string{to_string(m.per_unit)};
    if (m.better == metric_direction::lower)
      spec["better"] = "lower";
    out[m.name] = std::move(spec);
  }
  return out;
}

} // namespace expd::core
