#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/planner_plan.hpp"

// Offline replay's scores of one predicted plan against the plan the household accepted
// (spec 10; each defined in docs/lifecycle.md, "Offline replay"). Every score is in
// [0, 1], higher is better, and defined for every row, so rows pair up for the bootstrap.
namespace expd::core {

/// What a predicted plan breaks, by kind; any one is a constraint violation.
struct plan_violations {
  std::uint32_t unreadable = 0;     ///< not a plan at all
  std::uint32_t unknown_recipe = 0; ///< a day names no catalogue recipe
  std::uint32_t diet = 0;           ///< a recipe the diet or an allergy rules out
  std::uint32_t too_long = 0;       ///< over the request's minutes per meal
  std::uint32_t repeated = 0;       ///< from the previous plan (no repeats) or twice in this one
  std::uint32_t wrong_days = 0;     ///< not as many days as dinners asked

  std::uint32_t total() const {
    return unreadable + unknown_recipe + diet + too_long + repeated + wrong_days;
  }
};

struct plan_scores {
  double plan_alignment = 0;     ///< days with the accepted plan's recipe on the same day, of the longer plan's days
  double constraint_respect = 0; ///< 1 when the plan breaks nothing, else 0
  double edit_distance = 0;      ///< 1 - Levenshtein(predicted days, accepted days) / the longer plan's days
  double variety = 0;            ///< distinct cuisines of the cooked days, of the cooked days
  double leftovers = 0;          ///< pantry ingredients the cooked recipes use, of the pantry's
  plan_violations violations;
};

/// The scores of `predicted` for `request`, with `accepted` the household's own plan.
plan_scores score_plan(const planner_plan& predicted, const planner_plan& accepted, const planner_request& request,
                       const planner_catalogue& catalogue);

/// The metric names replay reports, in order: plan_alignment_score,
/// constraint_respect_score, edit_distance_score, variety_score, leftovers_score.
const std::vector<std::string>& replay_metric_names();

/// The value of metric `index` (replay_metric_names()'s order) of `scores`.
double metric_value(const plan_scores& scores, std::size_t index);

} // namespace expd::core
