#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/experiment.hpp"
#include "core/rfc3339.hpp"

// Promotion of a candidate model through an experiment (onboarding spec 11, the
// architecture overview's promotion flow): the candidate starts as a small variant, its
// allocation rises step by step while the guardrails hold, and it is rolled back by
// itself on a breach or a sample-ratio mismatch. What to do next is decided here; the
// promotion actor only reads results and applies the decision.
namespace expd::core {

/// The largest first allocation: "always begin with <= 10%".
inline constexpr double max_first_allocation = 0.1;

/// Which way a guardrail metric must not move.
enum class guardrail_direction { must_not_decrease, must_not_increase };

std::string_view to_string(guardrail_direction d) noexcept;

/// A metric the candidate must not harm (spec 11.3: acceptance rate, edits, validator
/// interventions, latency, cost).
struct guardrail {
  std::string event_type;
  std::string metric_name;
  guardrail_direction direction = guardrail_direction::must_not_decrease;
  /// A harm smaller than this relative change is tolerated (0.02: 2%).
  double tolerance = 0;
};

/// POST /admin/v1/promotions: what `expctl promote MODEL/VERSION --experiment E
/// --allocation A` asks for.
struct promotion_request {
  std::string model_name;
  int model_version = 0;
  std::string experiment;
  std::string variant;  ///< the candidate's variant; default "candidate_<model>_v<version>"
  std::string baseline = "control"; ///< the variant whose share the candidate takes
  std::string policy;   ///< the policy the new version joins; empty: the model version's policy_id tag
  std::vector<double> steps; ///< the candidate's allocation at each step, rising; [0] is the first
  std::int64_t hold_seconds = 86400; ///< guardrails must hold this long before a step up
  std::uint64_t min_exposures = 100; ///< units the candidate must have seen before a step up
  double alpha = 0.05; ///< always-valid p-values below this are significant
  std::vector<guardrail> guardrails;
  bool retire_baseline = true; ///< at the end the candidate takes the baseline's whole share
};

/// Reads the body. `allocation` is the first step (at most max_first_allocation, more is
/// refused: "always begin with <= 10%"); `steps` the rest, each above the one before and
/// at most the baseline's share plus the first (checked against the experiment later);
/// `hold` is "30m", "24h", "2d" or seconds. Throws core::field_error naming the field.
promotion_request parse_promotion_request(const nlohmann::json& body);

/// The experiment's spec after the candidate joins: `variant` appended with the first
/// allocation and config {"policy_version_id": id} (`config_defaults` merged under it),
/// the baseline's allocation lowered by as much. Every other variant keeps its range
/// order and allocation, and units that hold a variant keep it (sticky assignments).
/// Throws field_error: no such baseline, the variant name taken, the baseline's share
/// too small for the step.
experiment_spec spec_with_candidate(const experiment& current, const promotion_request& request,
                                    const std::string& policy_version_id,
                                    const nlohmann::json& config_defaults);

/// The experiment's spec with the candidate at `allocation`, the baseline giving or
/// taking the difference (a rollback is allocation 0: the baseline gets it all back).
experiment_spec spec_with_allocation(const experiment& current, const std::string& candidate,
                                     const std::string& baseline, double allocation);

/// How one guardrail stands in a results document (core::experiment_results).
struct guardrail_reading {
  guardrail rule;
  std::string status; ///< "ok", "breached", "no data" (not measured yet)
  std::optional<double> relative_lift;
  std::optional<double> always_valid_p_value;
};

/// What the candidate's numbers say: each guardrail, the sample-ratio check, its exposures.
struct promotion_reading {
  std::vector<guardrail_reading> guardrails;
  /// Of the units first assigned since the step began, against the step's allocations:
  /// the results' own check spans allocations the promotion has since changed.
  bool srm_mismatch = false;
  std::optional<double> srm_p_value;
  std::uint64_t candidate_exposures = 0;
};

/// Reads `results` for `candidate` against the baseline (the results' control); the
/// sample-ratio check is the caller's. A guardrail is breached when the candidate moved
/// it the harmful way by more than its tolerance and the always-valid p-value (mSPRT,
/// safe to look at every pass) is below alpha.
promotion_reading read_promotion(const nlohmann::json& results, const std::string& candidate,
                                 const std::vector<guardrail>& guardrails, double alpha);

enum class promotion_step { hold, raise, complete, roll_back };

std::string_view to_string(promotion_step s) noexcept;

/// The state of an active promotion that the decision needs.
struct promotion_progress {
  std::size_t step_index = 0;      ///< steps[step_index] is the allocation now
  unix_micros step_started_at = 0; ///< when the allocation took that value
};

struct promotion_decision {
  promotion_step step = promotion_step::hold;
  double allocation = 0; ///< after the step (0 for a roll back)
  std::string reason;    ///< why, in words for the event log and `promote status`
};

/// The next move: roll back on any breach or a sample-ratio mismatch; hold until the
/// step has lasted hold_seconds and the candidate has min_exposures; then raise to the
/// next step, or complete after the last.
promotion_decision decide_promotion(const promotion_request& request, const promotion_progress& progress,
                                    const promotion_reading& reading, unix_micros now);

/// The request as stored with a promotion, and back.
nlohmann::json promotion_request_json(const promotion_request& request);

} // namespace expd::core
