#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/policy_document.hpp"

// How a variant is executed (the conversational architecture overview, section 5): its
// config's `execution_strategy` says whether the backend serves an MLflow model through
// a policy version, a prompt, or both.
namespace expd::core {

enum class execution_strategy { mlflow_model, prompt_template, hybrid };

std::string_view to_string(execution_strategy strategy) noexcept;

/// What a variant config says about its execution, checked.
struct variant_execution {
  std::optional<execution_strategy> strategy; ///< absent: a plain config (a flag's value)
  std::optional<policy_reference> policy;     ///< its `policy_version_id`
  std::string policy_text;                    ///< that value as written
  std::optional<std::string> prompt_version_id;
};

/// Reads `execution_strategy`, `policy_version_id` and `prompt_version_id` of a variant
/// config (the object at `path`). A policy_version_id alone means mlflow_model;
/// mlflow_model and hybrid need a policy_version_id, prompt_template and hybrid a
/// prompt_version_id, and prompt_template takes no policy_version_id. The reference's
/// form is checked here, its existence at apply. Throws core::field_error
/// ("experiments[0].variants[1].config.policy_version_id").
variant_execution read_variant_execution(const nlohmann::json& config, const std::string& path);

} // namespace expd::core
