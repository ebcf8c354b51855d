#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// The planner's request and plan in the words a planner dataset renders them
// (docs/lifecycle.md, "Datasets from events"): offline replay reads the constraints back
// out of a row's input and the days out of a plan, predicted or accepted, to score them
// (docs/lifecycle.md, "Offline replay").
namespace expd::core {

/// A recipe as the domain table planner.recipes holds it.
struct planner_recipe {
  std::string name;
  int minutes = 0;
  std::string cuisine;
  std::vector<std::string> contains; ///< meat, fish, dairy, gluten, nuts, egg
  std::vector<std::string> ingredients;
};

/// What scoring knows of the domain: the recipes by name and what each diet and allergy
/// rules out (planner.exclusions), by its name.
struct planner_catalogue {
  std::unordered_map<std::string, planner_recipe> recipes;
  std::unordered_map<std::string, std::vector<std::string>> excludes;
};

/// A request's constraints as its input states them.
struct planner_request {
  int adults = 0;   ///< 0: no household stated
  int children = 0;
  std::string diet;
  std::vector<std::string> allergies;
  std::vector<std::string> pantry; ///< ingredients, their quantities left off
  int max_minutes = 0;             ///< per meal; 0: not stated
  int dinners = 0;                 ///< days the plan must cover; 0: not stated
  bool no_repeats = false;         ///< none of the previous plan's recipes
  std::vector<std::string> previous_plan;
  std::string workflow; ///< "weekly_plan", ...; empty: not stated
  std::string mode;     ///< "quick", "balanced", "adventurous"; empty: not stated
};

/// Reads `input` ("household: 2 adults, 1 child; diet: vegan; allergies: nuts; pantry: lentils 500 g,
/// rice 1 kg; constraints: max 30 min per meal, 5 dinners, no repeats of the previous
/// plan; workflow: weekly_plan; mode: quick; previous plan: dal tadka"). A pantry item's ingredient is the longest
/// catalogue ingredient it starts with (the rest is its quantity). Nothing when a field
/// scoring needs (diet, constraints) is missing.
std::optional<planner_request> parse_planner_input(std::string_view input, const planner_catalogue& catalogue);

/// One day of a plan: a recipe, or the leftovers of one.
struct planner_day {
  std::string recipe;
  bool leftovers = false;

  friend bool operator==(const planner_day& a, const planner_day& b) {
    return a.recipe == b.recipe && a.leftovers == b.leftovers;
  }
};

/// A plan's days as its text names them.
struct planner_plan {
  bool readable = false; ///< it begins "plan: " and each day before the shopping list has a day label
  bool none = false;     ///< "plan: none; reason: ..."
  std::vector<planner_day> days;
};

/// Reads "plan: Mon dal tadka (35 min, uses lentils, rice); Tue leftovers of dal tadka;
/// shopping: ...; edits: ..." (a single day is labelled "tonight"). What a model
/// generates may be anything: a text that does not begin "plan: " or whose first segment
/// has no day label is unreadable; days end at the first segment without one.
planner_plan parse_planner_plan(std::string_view text);

} // namespace expd::core
