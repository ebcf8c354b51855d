#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/condition.hpp"
#include "core/experiment_status.hpp"
#include "core/metric_roles.hpp"
#include "core/stopping_rules.hpp"
#include "core/uuid.hpp"

namespace expd::core {

/// What the operator writes for one variant (experiments.yml).
struct variant_spec {
  std::string name;
  double allocation = 0;
  nlohmann::json config = nlohmann::json::object();
};

/// What the operator writes for one experiment (experiments.yml).
struct experiment_spec {
  std::string name;
  std::string unit_type;
  std::string description;
  std::optional<experiment_status> status; ///< absent: draft when new, else unchanged
  std::optional<std::string> salt;         ///< absent: the name
  nlohmann::json condition;                ///< null when untargeted
  std::vector<variant_spec> variants;
  /// `cuped: {pre_period_days: N}`: each metric's per-unit value over the N days before
  /// the experiment started is its CUPED covariate (docs/aggregation.md). nullopt: none.
  std::optional<int> cuped_pre_period_days;
  /// `metrics: {goals, secondary, guardrails}`; empty: every metric is a goal.
  experiment_metrics metrics;
  /// `stopping: {goal, guardrail, srm, alpha, min_units}`; empty: no rule.
  stopping_rules stopping;
};

/// A variant as served: ids from the database, JSON pre-rendered once per snapshot
/// so replies are built by concatenation.
struct variant {
  uuid id;
  std::string name;
  double allocation = 0;
  nlohmann::json config;
  std::string id_text;     ///< canonical uuid
  std::string name_json;   ///< name as a JSON string literal
  std::string config_json; ///< config serialised
};

/// An experiment as served by the assignment shards.
struct experiment {
  uuid id;
  std::string id_text;
  std::string name;
  std::string name_json; ///< name as a JSON string literal
  std::string unit_type;
  std::string description;
  experiment_status status = experiment_status::draft;
  std::string salt;
  std::shared_ptr<const std::string> shared_salt; ///< salt, shared by write-behind rows
  nlohmann::json condition_spec;
  condition targeting;
  std::string targeting_error; ///< why the stored condition no longer compiles; empty when it does
  std::vector<variant> variants;
  std::optional<int> cuped_pre_period_days; ///< see experiment_spec
  experiment_metrics metrics;               ///< see experiment_spec
  stopping_rules stopping;                  ///< see experiment_spec
  std::string status_reason;     ///< why the status last changed (a rule's or an operator's words)
  std::string status_changed_at; ///< when; empty: never changed since this was recorded
  std::vector<std::uint32_t> range_ends; ///< see bucket_range_ends
  std::string created_at;
  std::string updated_at;

  /// Fills the derived fields (range_ends, texts, compiled targeting) from the rest,
  /// the condition's saved groups found in `groups`. A condition that no longer
  /// compiles (a group gone that applies keep) serves nobody and says why in
  /// targeting_error.
  void derive(const group_lookup* groups = nullptr);

  /// The variant with `id`, or nullptr.
  const variant* find_variant(const uuid& id) const noexcept;
};

} // namespace expd::core
