#include "core/experiment_document.hpp"

#include <string>
#include <unordered_set>

#include "core/bucketing.hpp"
#include "core/field_error.hpp"
#include "core/json_fields.hpp"
#include "core/variant_execution.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

variant_spec parse_variant(const json& v, const std::string& path,
                           const experiment_document_limits& limits) {
  if (!v.is_object())
    throw field_error(path, "a variant must be an object");
  require_known_fields(v, path, {"name", "allocation", "config", "description"});
  variant_spec spec;
  spec.name = identifier(v, path, "name", 128);
  auto alloc = v.find("allocation");
  if (alloc == v.end())
    throw field_error(path + ".allocation", "allocation is required");
  if (!alloc->is_number())
    throw field_error(path + ".allocation", "allocation must be a number");
  spec.allocation = alloc->get<double>();
  if (!(spec.allocation >= 0.0 && spec.allocation <= 1.0))
    throw field_error(path + ".allocation", "allocation must lie in [0, 1]");
  if (auto* cfg = optional_member(v, "config")) {
    if (!cfg->is_object())
      throw field_error(path + ".config", "config must be an object");
    if (cfg->dump().size() > limits.max_config_bytes)
      throw field_error(path + ".config", "config is larger than "
                                            + std::to_string(limits.max_config_bytes)
                                            + " bytes");
    read_variant_execution(*cfg, path + ".config");
    spec.config = *cfg;
  }
  return spec;
}

// `cuped: {pre_period_days: N}`, N a whole number of days in [1, 90].
int parse_cuped(const json& c, const std::string& path) {
  if (!c.is_object())
    throw field_error(path, "cuped must be an object: {pre_period_days: N}");
  require_known_fields(c, path, {"pre_period_days"});
  auto days = c.find("pre_period_days");
  auto dpath = path + ".pre_period_days";
  if (days == c.end())
    throw field_error(dpath, "pre_period_days is required");
  if (!days->is_number_integer() || days->get<std::int64_t>() < 1
      || days->get<std::int64_t>() > max_cuped_pre_period_days)
    throw field_error(dpath, "pre_period_days must be a whole number of days in [1, "
                               + std::to_string(max_cuped_pre_period_days) + "]");
  return days->get<int>();
}

experiment_spec parse_experiment(const json& e, const std::string& path,
                                 const experiment_document_limits& limits,
                                 const group_lookup* groups) {
  if (!e.is_object())
    throw field_error(path, "an experiment must be an object");
  require_known_fields(e, path, {"name", "unit_type", "description", "status", "salt",
                                 "condition", "variants", "cuped", "metrics", "stopping"});
  experiment_spec spec;
  spec.name = identifier(e, path, "name", 128);
  spec.unit_type = identifier(e, path, "unit_type", 64);
  spec.description = optional_string(e, path, "description", 4096).value_or("");
  if (auto status = optional_string(e, path, "status", 32)) {
    spec.status = parse_status(*status);
    if (!spec.status)
      throw field_error(path + ".status", "unknown status \"" + *status
                                            + "\" (draft, running, paused, stopped)");
  }
  spec.salt = optional_string(e, path, "salt", 256);
  if (spec.salt && spec.salt->empty())
    throw field_error(path + ".salt", "salt must not be empty");
  if (auto* cond = optional_member(e, "condition")) {
    condition::compile(*cond, path + ".condition", groups);
    spec.condition = *cond;
  }
  if (auto* cuped = optional_member(e, "cuped"))
    spec.cuped_pre_period_days = parse_cuped(*cuped, path + ".cuped");
  if (auto* metrics = optional_member(e, "metrics"))
    spec.metrics = parse_experiment_metrics(*metrics, path + ".metrics");
  if (auto* stopping = optional_member(e, "stopping"))
    spec.stopping = parse_stopping_rules(*stopping, path + ".stopping");
  auto variants = e.find("variants");
  auto vpath = path + ".variants";
  if (variants == e.end())
    throw field_error(vpath, "variants is required");
  if (!variants->is_array() || variants->empty())
    throw field_error(vpath, "variants must be a non-empty array");
  if (variants->size() > limits.max_variants)
    throw field_error(vpath, "more than " + std::to_string(limits.max_variants)
                               + " variants");
  std::unordered_set<std::string> names;
  double total = 0;
  std::uint32_t buckets = 0;
  for (std::size_t i = 0; i < variants->size(); ++i) {
    auto vp = vpath + "[" + std::to_string(i) + "]";
    auto v = parse_variant((*variants)[i], vp, limits);
    if (!names.insert(v.name).second)
      throw field_error(vp + ".name", "duplicate variant name \"" + v.name + "\"");
    total += v.allocation;
    buckets += bucket_width(v.allocation);
    spec.variants.push_back(std::move(v));
  }
  if (total > 1.0 + 1e-9 || buckets > bucket_count)
    throw field_error(vpath, "allocations sum to " + std::to_string(total)
                               + ", past 1");
  return spec;
}

} // namespace

std::vector<experiment_spec> parse_experiment_document(const json& doc,
                                                       const experiment_document_limits&
                                                         limits,
                                                       const group_lookup* groups) {
  return parse_named_list(doc, "experiments", limits.max_experiments, "experiment",
                          [&limits, groups](const json& e, const std::string& path) {
                            return parse_experiment(e, path, limits, groups);
                          });
}

json experiment_document_json(const std::vector<experiment_spec>& specs) {
  json list = json::array();
  for (auto& spec : specs) {
    json variants = json::array();
    for (auto& v : spec.variants)
      variants.push_back({{"name", v.name}, {"allocation", v.allocation}, {"config", v.config}});
    json e = {{"name", spec.name}, {"unit_type", spec.unit_type}, {"variants", std::move(variants)}};
    if (!spec.description.empty())
      e["description"] = spec.description;
    if (spec.status)
      e["status"] = to_string(*spec.status);
    if (spec.salt)
      e["salt"] = *spec.salt;
    if (!spec.condition.is_null())
      e["condition"] = spec.condition;
    if (spec.cuped_pre_period_days)
      e["cuped"] = {{"pre_period_days", *spec.cuped_pre_period_days}};
    if (!spec.metrics.empty())
      e["metrics"] = experiment_metrics_json(spec.metrics);
    if (!spec.stopping.empty())
      e["stopping"] = stopping_rules_json(spec.stopping);
    list.push_back(std::move(e));
  }
  return {{"experiments", std::move(list)}};
}

} // namespace expd::core
