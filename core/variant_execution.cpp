#include "core/variant_execution.hpp"

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

std::string_view to_string(execution_strategy strategy) noexcept {
  switch (strategy) {
    case execution_strategy::mlflow_model:
      return "mlflow_model";
    case execution_strategy::prompt_template:
      return "prompt_template";
    case execution_strategy::hybrid:
      return "hybrid";
  }
  return "mlflow_model";
}

variant_execution read_variant_execution(const nlohmann::json& config, const std::string& path) {
  variant_execution out;
  if (auto strategy = optional_string(config, path, "execution_strategy", 64)) {
    for (auto s : {execution_strategy::mlflow_model, execution_strategy::prompt_template,
                   execution_strategy::hybrid})
      if (*strategy == to_string(s))
        out.strategy = s;
    if (!out.strategy)
      throw field_error(member_path(path, "execution_strategy"),
                        "unknown execution_strategy \"" + strategy->substr(0, 64)
                          + "\" (mlflow_model, prompt_template, hybrid)");
  }
  auto policy_field = member_path(path, "policy_version_id");
  if (auto policy = optional_string(config, path, "policy_version_id", 256)) {
    out.policy = parse_policy_reference(*policy);
    if (!out.policy)
      throw field_error(policy_field, "policy_version_id must be a policy version's UUID or "
                                      "POLICY/VERSION (planner_policy/2), not \""
                                        + *policy + "\"");
    out.policy_text = *policy;
  }
  auto prompt_field = member_path(path, "prompt_version_id");
  out.prompt_version_id = optional_string(config, path, "prompt_version_id", 256);
  if (out.prompt_version_id && out.prompt_version_id->empty())
    throw field_error(prompt_field, "prompt_version_id must not be empty");
  if (!out.strategy && out.policy)
    out.strategy = execution_strategy::mlflow_model;
  if (!out.strategy)
    return out;
  auto name = std::string{to_string(*out.strategy)};
  bool model = *out.strategy != execution_strategy::prompt_template;
  bool prompt = *out.strategy != execution_strategy::mlflow_model;
  if (model && !out.policy)
    throw field_error(policy_field, name + " needs the policy_version_id whose model it serves");
  if (!model && out.policy)
    throw field_error(policy_field, "prompt_template serves no model: drop policy_version_id "
                                    "or use hybrid");
  if (prompt && !out.prompt_version_id)
    throw field_error(prompt_field, name + " needs the prompt_version_id it renders");
  return out;
}

} // namespace expd::core
