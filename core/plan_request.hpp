#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assign_request.hpp"
#include "core/rfc3339.hpp"

// The planner request path (architecture overview 4.1; docs/lifecycle.md, "Serving
// plans"): what POST /v1/plan and /v1/plan/batch take, which of a unit's assignments
// serves it, and the plan_generated event and the answer it becomes. No I/O.
namespace expd::core {

/// The domain rows and request fields a plan's input is rendered from: what the
/// planner's plan_generated event carries, so the dataset built from it reads the same.
struct plan_input {
  std::string household_id; ///< planner.households; the unit's id unless given
  std::string pantry_id;    ///< planner.pantry_snapshots
  std::string constraint_id; ///< planner.constraints
  std::string workflow;     ///< "weekly", "tonight", ...
  std::string mode;         ///< "auto", "assist", ...
  std::vector<std::string> previous_plan; ///< recipe ids of the plan before, in order
};

struct plan_request {
  std::string request_id; ///< the caller's (a retry sends it again); empty: the server makes one
  assign_request assign;  ///< unit_type (default "household"), unit_id, context, requested experiment
  plan_input input;
  std::uint32_t max_new_tokens = 0; ///< 0: the server's default
};

struct plan_request_limits {
  std::uint32_t max_new_tokens = 512;
  std::size_t max_batch = 64;
  std::size_t max_previous_plan = 31;
  std::size_t max_id_bytes = 128;
};

/// Reads {"unit_id", "unit_type"?, "experiment"?, "context"?, "request_id"?,
/// "max_new_tokens"?, "input": {"household_id"?, "pantry_id", "constraint_id",
/// "workflow", "mode", "previous_plan"?}} at `path` ("" or "requests[3]"). Throws
/// field_error naming the member: a missing or mistyped one, an unknown one, an id
/// over max_id_bytes or holding control characters, max_new_tokens outside 1 to the cap.
plan_request parse_plan_request(const nlohmann::json& body, const std::string& path = "",
                                const plan_request_limits& limits = {});

/// Reads {"requests": [...]} of 1 to max_batch requests, each as parse_plan_request.
std::vector<plan_request> parse_plan_batch(const nlohmann::json& body, const plan_request_limits& limits = {});

/// The assignment that serves a plan.
struct plan_assignment {
  std::string experiment_id, experiment_name, variant_id, variant_name;
  std::string policy_version_id; ///< as the variant config gives it (a UUID or "policy/3")
};

/// Of the assign answer `{"assignments":[...]}`, the first whose variant is served by a
/// model (its config's execution_strategy mlflow_model or hybrid); nothing when none is.
std::optional<plan_assignment> plan_assignment_of(const nlohmann::json& assign_answer);

/// What the plan server knows once a plan is generated.
struct plan_outcome {
  std::string model;              ///< "planner_model/5"
  std::string policy_version_id;  ///< the stored version's UUID
  std::string plan;               ///< the completion, decoded
  std::string finish_reason;      ///< "stop" or "length"
  std::uint32_t prompt_tokens = 0;
  std::uint32_t generated_tokens = 0;
  std::uint32_t batch_size = 0;
  double latency_ms = 0;          ///< from the request's arrival to its plan
  double cost_usd = 0;            ///< tokens at the configured price
};

/// The planner's plan_generated event (docs/lifecycle.md, "Datasets from events"), sent
/// by the server itself: the experiment it was served in, the domain rows, the plan,
/// latency, cost and the plan's days.
nlohmann::json plan_generated_event(const plan_request& request, const plan_assignment& assignment,
                                    const plan_outcome& outcome, unix_micros at);

/// The answer to one request.
nlohmann::json plan_answer(const plan_request& request, const plan_assignment& assignment,
                           const plan_outcome& outcome);

} // namespace expd::core
