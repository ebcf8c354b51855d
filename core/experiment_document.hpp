#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "core/experiment.hpp"

namespace expd::core {

/// The longest CUPED pre-period an experiment may configure.
inline constexpr int max_cuped_pre_period_days = 90;

/// Limits of one experiments document; past them the document is refused.
struct experiment_document_limits {
  std::size_t max_experiments = 1000;
  std::size_t max_variants = 100;
  std::size_t max_config_bytes = 64 * 1024;
};

/// Reads `{"experiments":[...]}` (experiments.yml as JSON) into specs. Everything is
/// checked before anything is returned: names and unit types, unknown fields,
/// duplicate experiment or variant names, allocations in [0,1] summing to at most 1,
/// statuses, every targeting condition, and each variant config's execution
/// (core::read_variant_execution: the form of its policy_version_id; whether that version
/// exists is the registry's check). Throws core::field_error with the path of
/// the first fault ("experiments[1].variants[0].allocation").
/// Conditions name saved groups of `groups` (nullptr: none is applied).
std::vector<experiment_spec> parse_experiment_document(const nlohmann::json& doc,
                                                       const experiment_document_limits&
                                                         limits = {},
                                                       const group_lookup* groups = nullptr);

/// `{"experiments":[...]}` for `specs`: what parse_experiment_document reads back into
/// the same specs (status and salt written when set), for actors that change an
/// experiment through the registry as an operator would.
nlohmann::json experiment_document_json(const std::vector<experiment_spec>& specs);

} // namespace expd::core
