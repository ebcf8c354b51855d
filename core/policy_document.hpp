#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/apply_plan.hpp"
#include "core/uuid.hpp"

// Policies and their versions (onboarding spec 4.3, 11.1, 13.2): a policy is a named
// decision a product makes with a model (the planner); each version names the one MLflow
// model version it serves, with the config defaults a variant starts from.
namespace expd::core {

struct policy_version_spec {
  int version = 0;
  std::string mlflow_model_name;
  int mlflow_model_version = 0;
  nlohmann::json config_defaults = nlohmann::json::object();
};

struct policy_spec {
  std::string name;
  std::string description;
  std::vector<policy_version_spec> versions;
};

/// A version as stored: its id is what variant configs name as `policy_version_id`.
struct stored_policy_version {
  uuid id;
  std::string id_text;
  policy_version_spec spec;
  std::string mlflow_run_id; ///< the run the model version came from, if MLflow said
  std::string created_at;
};

struct stored_policy {
  std::string name;
  std::string description;
  std::vector<stored_policy_version> versions; ///< by version
  std::string created_at;
};

/// Limits of one policies document.
struct policy_document_limits {
  std::size_t max_policies = 1000;
  std::size_t max_versions = 1000;
  std::size_t max_config_bytes = 64 * 1024;
};

/// Reads `{"policies":[...]}` (policies.yml as JSON). Names are identifiers; versions
/// and MLflow model versions whole numbers from 1 (the spec writes the model version as
/// a number or a string of digits: both are read); a version number given twice, unknown
/// fields or a config_defaults that is not an object are refused. Throws
/// core::field_error with the path ("policies[0].versions[1].mlflow_model_version").
std::vector<policy_spec> parse_policy_document(const nlohmann::json& doc,
                                               const policy_document_limits& limits = {});

struct planned_policy_version {
  apply_action action = apply_action::unchanged; ///< created or unchanged
  policy_version_spec spec;
  const stored_policy_version* current = nullptr;
};

struct planned_policy {
  apply_action action = apply_action::unchanged;
  policy_spec spec;
  const stored_policy* current = nullptr;
  std::vector<planned_policy_version> versions; ///< in document order
};

/// What applying `specs` changes. A stored version is immutable: naming another model
/// version or other config defaults for it is refused (a variant serving it would change
/// under a running experiment), pointing at a new version instead. Versions and policies
/// the document does not name are kept: variants and replay results refer to them.
std::vector<planned_policy> plan_policy_apply(const std::vector<policy_spec>& specs,
                                              const std::vector<stored_policy>& current);

/// A variant config's `policy_version_id`: the version's UUID, or `POLICY/VERSION`
/// ("planner_policy/2") for a person writing YAML before the UUID exists.
struct policy_reference {
  std::optional<uuid> id;
  std::string policy;
  int version = 0;
};

/// Reads `text` as a policy_reference; std::nullopt when it is neither form.
std::optional<policy_reference> parse_policy_reference(std::string_view text);

/// The stored version `ref` names, or nullptr.
const stored_policy_version* find_policy_version(const std::vector<stored_policy>& policies,
                                                 const policy_reference& ref);

} // namespace expd::core
