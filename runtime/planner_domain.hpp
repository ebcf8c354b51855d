#pragma once

#include <pqxx/pqxx>

#include "core/planner_plan.hpp"

// The planner domain's reference tables (sql/domain/planner_schema.sql), read by offline
// replay's scoring and the plan server's drift features.
namespace expd::runtime {

/// planner.recipes and planner.exclusions, in a transaction of the caller's.
core::planner_catalogue read_planner_catalogue(pqxx::transaction_base& tx);

} // namespace expd::runtime
