#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/paired_bootstrap.hpp"
#include "core/replay_scores.hpp"

// Offline replay (spec 10) as plain logic: what a replay request may ask, and the
// verdict of its scores under the acceptance criteria (docs/lifecycle.md, "Offline
// replay"). The replay runner (actors/lifecycle/replay_runner) generates the plans.
namespace expd::core {

/// A registered model's version as a request names it: NAME/VERSION, or NAME@ALIAS
/// (resolved through MLflow before the replay is stored).
struct model_reference {
  std::string name;
  int version = 0;   ///< 0 while only the alias is known
  std::string alias; ///< empty: by version

  std::string text() const; ///< "planner_model/5" once resolved
};

/// Reads "planner_model/5" or "planner_model@production"; nothing for anything else.
std::optional<model_reference> parse_model_reference(const std::string& text);

/// The acceptance criteria (spec 10's minimum): the candidate's plans break at most
/// max_violations constraints, and each other score falls below the baseline's by no
/// more than its tolerance (0: "equal or better"; variety and leftovers "stable").
struct replay_criteria {
  std::uint64_t max_violations = 0;
  double alignment_tolerance = 0;
  double edit_distance_tolerance = 0;
  double variety_tolerance = 0.02;
  double leftovers_tolerance = 0.02;
};

struct replay_request {
  model_reference candidate;
  model_reference baseline;
  std::string dataset;         ///< NAME/VERSION of exp.datasets ("planner/2025-12-01")
  std::string split = "validation"; ///< validation, train or all
  std::uint32_t max_rows = 1000;    ///< the first this many rows of the split, in file order
  std::uint32_t max_new_tokens = 160;
  std::uint32_t resamples = 2000;   ///< bootstrap resamples
  double confidence = 0.95;
  std::uint64_t seed = 1;
  replay_criteria criteria;
};

/// Reads POST /admin/v1/replays's body (`candidate`, `baseline`, `dataset` required).
/// Throws core::field_error naming the field.
replay_request parse_replay_request(const nlohmann::json& body);

/// The request as it is stored and shown, references resolved to versions.
nlohmann::json replay_request_json(const replay_request& request);

/// One metric of the comparison.
struct replay_metric {
  std::string name;
  double candidate = 0; ///< mean over the rows
  double baseline = 0;
  bootstrap_interval difference; ///< candidate - baseline, paired over the rows
  std::optional<double> tolerance; ///< how far below the baseline it may fall; none: not a gate
  bool passed = true;
};

/// Everything replay concludes: per metric, the violations of each side by kind, and
/// which criteria failed, each in words with its numbers.
struct replay_verdict {
  std::size_t rows = 0;
  std::vector<replay_metric> metrics;
  plan_violations candidate_violations;
  plan_violations baseline_violations;
  std::vector<std::string> failed; ///< one sentence per failed criterion; empty: accepted

  bool accepted() const {
    return failed.empty();
  }
};

/// The verdict over rows scored for both models (`candidate[i]` and `baseline[i]` are
/// row i's). Throws std::invalid_argument for no rows or lengths that differ.
replay_verdict judge_replay(const std::vector<plan_scores>& candidate, const std::vector<plan_scores>& baseline,
                            const replay_request& request);

nlohmann::json replay_verdict_json(const replay_verdict& verdict);

nlohmann::json violations_json(const plan_violations& v);

} // namespace expd::core
