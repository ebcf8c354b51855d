#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

// An experiment's stopping rules (issue 15): after each aggregation pass the aggregator
// reads the experiment's results and, when a rule's evidence is there, stops or pauses
// it and records why (docs/statistics.md, "Stopping on evidence").
namespace expd::core {

/// What a rule does when it fires.
enum class stop_action { none, pause, stop };

/// "none", "pause", "stop".
std::string_view to_string(stop_action a) noexcept;

/// `stopping: {goal: stop, guardrail: pause, srm: pause, alpha: 0.05, min_units: 100}`.
struct stopping_rules {
  /// A goal comparison's always-valid p-value below alpha, either way.
  stop_action goal = stop_action::none;
  /// A guardrail whose always-valid p-value is below alpha with a harm past its margin.
  stop_action guardrail = stop_action::none;
  /// A sample-ratio mismatch.
  stop_action srm = stop_action::none;
  double alpha = 0.05;
  /// No rule acts before every variant in traffic has this many exposed units.
  std::uint64_t min_units = 100;

  bool empty() const noexcept {
    return goal == stop_action::none && guardrail == stop_action::none && srm == stop_action::none;
  }
  bool operator==(const stopping_rules& o) const noexcept {
    return goal == o.goal && guardrail == o.guardrail && srm == o.srm && alpha == o.alpha
           && min_units == o.min_units;
  }
};

/// Reads the block at `path` ("experiments[0].stopping"): each of goal, guardrail and
/// srm is stop or pause; alpha in (0, 0.5]; min_units a whole number from 2 to 1e9.
/// Unknown keys and a block with no rule are refused with a field_error naming the place.
stopping_rules parse_stopping_rules(const nlohmann::json& block, const std::string& path);

/// The block as parse_stopping_rules reads it back; null when empty.
nlohmann::json stopping_rules_json(const stopping_rules& rules);

/// What the rules make of one results document (core::experiment_results).
struct stopping_decision {
  stop_action action = stop_action::none;
  std::string rule;   ///< "srm", "guardrail", "goal"; empty when none fired
  std::string reason; ///< in words, for people: the metric, the variant, the evidence
};

/// The first rule that fires, in the order srm (the data is broken), guardrail (harm),
/// goal (a decision); none while a variant in traffic has fewer than min_units units or
/// the experiment was never aggregated.
stopping_decision decide_stopping(const nlohmann::json& results, const stopping_rules& rules);

} // namespace expd::core
