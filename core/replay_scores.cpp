#include "core/replay_scores.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace expd::core {

namespace {

std::size_t levenshtein(const std::vector<planner_day>& a, const std::vector<planner_day>& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

plan_violations violations_of(const planner_plan& plan, const planner_request& request,
                              const planner_catalogue& catalogue) {
  plan_violations v;
  if (!plan.readable) {
    v.unreadable = 1;
    return v;
  }
  if (plan.none)
    return v;
  if (request.dinners > 0 && plan.days.size() != static_cast<std::size_t>(request.dinners))
    v.wrong_days = 1;
  std::vector<std::string> ruled_out;
  auto rule_out = [&](const std::string& name) {
    if (auto it = catalogue.excludes.find(name); it != catalogue.excludes.end())
      ruled_out.insert(ruled_out.end(), it->second.begin(), it->second.end());
  };
  rule_out(request.diet);
  for (auto& allergy : request.allergies)
    rule_out(allergy);
  std::vector<std::string> cooked;
  for (auto& day : plan.days) {
    auto it = catalogue.recipes.find(day.recipe);
    if (it == catalogue.recipes.end()) {
      ++v.unknown_recipe;
      continue;
    }
    if (day.leftovers)
      continue; // what it breaks, its cooking day broke
    auto& recipe = it->second;
    if (std::any_of(recipe.contains.begin(), recipe.contains.end(),
                    [&](const std::string& c) { return contains(ruled_out, c); }))
      ++v.diet;
    if (request.max_minutes > 0 && recipe.minutes > request.max_minutes)
      ++v.too_long;
    if (contains(cooked, recipe.name) || (request.no_repeats && contains(request.previous_plan, recipe.name)))
      ++v.repeated;
    cooked.push_back(recipe.name);
  }
  return v;
}

} // namespace

plan_scores score_plan(const planner_plan& predicted, const planner_plan& accepted, const planner_request& request,
                       const planner_catalogue& catalogue) {
  plan_scores s;
  s.violations = violations_of(predicted, request, catalogue);
  s.constraint_respect = s.violations.total() == 0 ? 1 : 0;
  const auto longer = std::max(predicted.days.size(), accepted.days.size());
  if (!predicted.readable) {
    s.plan_alignment = s.edit_distance = 0;
  } else if (longer == 0) {
    // Both say no plan fits (or the accepted text says nothing): agreeing is all there is.
    s.plan_alignment = s.edit_distance = predicted.none == accepted.none ? 1 : 0;
  } else {
    std::size_t same = 0;
    for (std::size_t i = 0; i < std::min(predicted.days.size(), accepted.days.size()); ++i)
      same += predicted.days[i] == accepted.days[i] ? 1 : 0;
    s.plan_alignment = static_cast<double>(same) / static_cast<double>(longer);
    s.edit_distance
      = 1.0 - static_cast<double>(levenshtein(predicted.days, accepted.days)) / static_cast<double>(longer);
  }
  std::set<std::string> cuisines;
  std::set<std::string> used;
  std::size_t cooked = 0;
  for (auto& day : predicted.days) {
    if (day.leftovers)
      continue;
    ++cooked;
    auto it = catalogue.recipes.find(day.recipe);
    if (it == catalogue.recipes.end())
      continue;
    cuisines.insert(it->second.cuisine);
    for (auto& ingredient : it->second.ingredients)
      if (contains(request.pantry, ingredient))
        used.insert(ingredient);
  }
  s.variety = cooked == 0 ? 0 : static_cast<double>(cuisines.size()) / static_cast<double>(cooked);
  std::set<std::string> pantry(request.pantry.begin(), request.pantry.end());
  if (!predicted.readable)
    s.leftovers = 0;
  else
    s.leftovers = pantry.empty() ? 1 : static_cast<double>(used.size()) / static_cast<double>(pantry.size());
  return s;
}

const std::vector<std::string>& replay_metric_names() {
  static const std::vector<std::string> names = {"plan_alignment_score", "constraint_respect_score",
                                                 "edit_distance_score", "variety_score", "leftovers_score"};
  return names;
}

double metric_value(const plan_scores& scores, std::size_t index) {
  switch (index) {
    case 0:
      return scores.plan_alignment;
    case 1:
      return scores.constraint_respect;
    case 2:
      return scores.edit_distance;
    case 3:
      return scores.variety;
    case 4:
      return scores.leftovers;
  }
  throw std::out_of_range("metric_value: no metric " + std::to_string(index));
}

} // namespace expd::core
