#pragma once

#include <optional>
#include <string_view>

#include "core/drift.hpp"
#include "core/planner_plan.hpp"

// The features of a planner request that drift is watched on (core/drift.hpp): what its
// input states, as parse_planner_input reads it.
namespace expd::core {

/// The names, snake_case as metric labels take them. Numeric: household_size (adults
/// and children), pantry_items, max_minutes, dinners, allergies (how many),
/// previous_plan_length (recipes). Categorical: diet, workflow, mode.
const drift_schema& planner_drift_schema();

/// `input`'s features in planner_drift_schema()'s order; nothing when parse_planner_input
/// cannot read it. A household, max_minutes or dinners not stated counts as 0, a workflow
/// or mode not stated as "unstated".
std::optional<drift_row> planner_features(std::string_view input, const planner_catalogue& catalogue);

} // namespace expd::core
