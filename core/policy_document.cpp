#include "core/policy_document.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <unordered_set>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

constexpr int max_version_number = 1000000000;

// A whole number in [1, 10^9], as a JSON integer or (for `string_ok`) a string of digits.
int whole_number(const json& obj, const std::string& path, const char* key, bool string_ok) {
  auto field = member_path(path, key);
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    throw field_error(field, std::string{key} + " is required");
  std::int64_t n = 0;
  if (it->is_number_integer()) {
    n = it->get<std::int64_t>();
  } else if (string_ok && it->is_string()) {
    auto& text = it->get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || text[0] == '-')
      throw field_error(field, std::string{key} + " must be a whole number from 1, not \""
                                 + text.substr(0, 64) + "\"");
  } else {
    throw field_error(field, std::string{key} + " must be a whole number from 1");
  }
  if (n < 1 || n > max_version_number)
    throw field_error(field, std::string{key} + " must lie in [1, "
                               + std::to_string(max_version_number) + "]");
  return static_cast<int>(n);
}

policy_version_spec parse_version(const json& v, const std::string& path,
                                  const policy_document_limits& limits) {
  if (!v.is_object())
    throw field_error(path, "a policy version must be an object");
  require_known_fields(v, path,
                       {"version", "mlflow_model_name", "mlflow_model_version", "config_defaults"});
  policy_version_spec spec;
  spec.version = whole_number(v, path, "version", false);
  // MLflow allows other characters in model names, but these names go into URLs,
  // aliases and metric labels.
  spec.mlflow_model_name = identifier(v, path, "mlflow_model_name", 256);
  spec.mlflow_model_version = whole_number(v, path, "mlflow_model_version", true);
  if (auto* defaults = optional_member(v, "config_defaults")) {
    auto field = member_path(path, "config_defaults");
    if (!defaults->is_object())
      throw field_error(field, "config_defaults must be an object");
    if (defaults->dump().size() > limits.max_config_bytes)
      throw field_error(field, "config_defaults is larger than "
                                 + std::to_string(limits.max_config_bytes) + " bytes");
    spec.config_defaults = *defaults;
  }
  return spec;
}

policy_spec parse_policy(const json& p, const std::string& path,
                         const policy_document_limits& limits) {
  if (!p.is_object())
    throw field_error(path, "a policy must be an object");
  require_known_fields(p, path, {"name", "description", "versions"});
  policy_spec spec;
  spec.name = identifier(p, path, "name", 128);
  spec.description = optional_string(p, path, "description", 4096).value_or("");
  auto vpath = member_path(path, "versions");
  auto* versions = optional_member(p, "versions");
  if (versions == nullptr)
    return spec;
  if (!versions->is_array())
    throw field_error(vpath, "versions must be an array");
  if (versions->size() > limits.max_versions)
    throw field_error(vpath, "more than " + std::to_string(limits.max_versions) + " versions");
  std::unordered_set<int> seen;
  for (std::size_t i = 0; i < versions->size(); ++i) {
    auto ipath = vpath + "[" + std::to_string(i) + "]";
    auto v = parse_version((*versions)[i], ipath, limits);
    if (!seen.insert(v.version).second)
      throw field_error(ipath + ".version", "version " + std::to_string(v.version)
                                              + " of " + spec.name + " is given twice");
    spec.versions.push_back(std::move(v));
  }
  return spec;
}

std::string model_text(const policy_version_spec& v) {
  return v.mlflow_model_name + "/" + std::to_string(v.mlflow_model_version);
}

} // namespace

std::vector<policy_spec> parse_policy_document(const json& doc, const policy_document_limits& limits) {
  return parse_named_list(doc, "policies", limits.max_policies, "policy",
                          [&limits](const json& p, const std::string& path) {
                            return parse_policy(p, path, limits);
                          });
}

std::vector<planned_policy> plan_policy_apply(const std::vector<policy_spec>& specs,
                                              const std::vector<stored_policy>& current) {
  std::vector<planned_policy> plan;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto& spec = specs[i];
    auto path = "policies[" + std::to_string(i) + "]";
    auto known = std::find_if(current.begin(), current.end(),
                              [&](const stored_policy& p) { return p.name == spec.name; });
    planned_policy p;
    p.spec = spec;
    p.current = known == current.end() ? nullptr : &*known;
    p.action = p.current == nullptr ? apply_action::created
               : p.current->description != spec.description ? apply_action::updated
                                                             : apply_action::unchanged;
    for (std::size_t j = 0; j < spec.versions.size(); ++j) {
      auto& v = spec.versions[j];
      auto vpath = path + ".versions[" + std::to_string(j) + "]";
      planned_policy_version planned{apply_action::created, v, nullptr};
      if (p.current != nullptr)
        for (auto& stored : p.current->versions)
          if (stored.spec.version == v.version)
            planned.current = &stored;
      if (planned.current != nullptr) {
        auto& was = planned.current->spec;
        auto refuse = [&](const char* field, const std::string& what) {
          throw field_error(vpath + "." + field,
                            spec.name + " version " + std::to_string(v.version) + " " + what
                              + "; a version never changes (variants serve it): add version "
                              + std::to_string(p.current->versions.back().spec.version + 1)
                              + " instead");
        };
        if (was.mlflow_model_name != v.mlflow_model_name)
          refuse("mlflow_model_name", "serves " + model_text(was) + ", not " + model_text(v));
        if (was.mlflow_model_version != v.mlflow_model_version)
          refuse("mlflow_model_version", "serves " + model_text(was) + ", not " + model_text(v));
        if (was.config_defaults != v.config_defaults)
          refuse("config_defaults", "has other config_defaults");
        planned.action = apply_action::unchanged;
      }
      p.versions.push_back(std::move(planned));
    }
    plan.push_back(std::move(p));
  }
  return plan;
}

std::optional<policy_reference> parse_policy_reference(std::string_view text) {
  if (auto id = uuid::parse(text))
    return policy_reference{id, "", 0};
  auto slash = text.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size())
    return std::nullopt;
  auto name = text.substr(0, slash);
  auto number = text.substr(slash + 1);
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return std::nullopt;
  int version = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), version);
  if (ec != std::errc{} || end != number.data() + number.size() || version < 1 || name.size() > 128)
    return std::nullopt;
  return policy_reference{std::nullopt, std::string{name}, version};
}

const stored_policy_version* find_policy_version(const std::vector<stored_policy>& policies,
                                                 const policy_reference& ref) {
  for (auto& p : policies) {
    if (!ref.id && p.name != ref.policy)
      continue;
    for (auto& v : p.versions)
      if (ref.id ? v.id == *ref.id : v.spec.version == ref.version)
        return &v;
  }
  return nullptr;
}

} // namespace expd::core
