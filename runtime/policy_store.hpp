#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/policy_document.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// exp.policies and exp.policy_versions. Blocking; used by the policy registry (which
/// applies) and the experiment registry (which resolves variant configs' references).
class policy_store {
public:
  explicit policy_store(std::string pg_url);

  /// Every policy with its versions, by name and version.
  std::vector<core::stored_policy> load();

  /// Writes the created and updated entries of `plan` in one transaction. `run_ids`
  /// gives, by "model/version", the MLflow run a new version's model came from. A
  /// version another node stored meanwhile with other values is refused as
  /// core::field_error naming it; the same values are taken as applied.
  void apply(const std::vector<core::planned_policy>& plan,
             const std::map<std::string, std::string>& run_ids);

private:
  pg_session session_;
};

} // namespace expd::runtime
