#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/plan_request.hpp"
#include "core/planner_plan.hpp"
#include "core/policy_document.hpp"
#include "runtime/pg_session.hpp"
#include "runtime/policy_store.hpp"

namespace expd::runtime {

/// A policy version as the planner serves it.
struct served_policy {
  std::string id;           ///< the stored version's UUID
  std::string model_name;   ///< its MLflow model
  int model_version = 0;
};

/// What POST /v1/plan reads from PostgreSQL: the request's input rendered from the
/// product team's domain tables by planner.plan_input (sql/domain/planner_schema.sql, the
/// function the dataset query renders training inputs with), and the policy versions
/// variants name. Blocking; for the plan server's detached reader.
class plan_input_store {
public:
  explicit plan_input_store(std::string pg_url);

  /// The input text of `in`. Throws core::field_error naming the member of `path`
  /// ("input.pantry_id") when a row is missing or another household's, or a previous
  /// plan's recipe is unknown.
  std::string render(const core::plan_input& in, const std::string& path = "input");

  /// The version `reference` (a UUID or "policy/3") names; nothing when none is stored.
  /// Versions are immutable, so a found one is kept; a miss reads the table again.
  std::optional<served_policy> policy(const std::string& reference);

  /// The recipes and exclusions, for reading inputs back (drift features).
  core::planner_catalogue catalogue();

private:
  pg_session session_;
  policy_store policies_;
  std::unordered_map<std::string, served_policy> known_;
};

} // namespace expd::runtime
