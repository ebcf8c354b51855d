#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

// The synthetic planning corpus: meal-planning requests and the plans households
// accepted, in the shape of the onboarding spec's section 9.1 (input context: household,
// pantry, constraints, workflow type, previous plan, mode; target: the accepted plan
// with the user's edits; metadata). No weights or data can be downloaded here, so the
// tokenizer is trained on it and the planner fine-tuned on it (docs/gpu.md).
namespace expd::tools {

/// What a request was made of, field by field: the domain rows and events of
/// tools/planner_domain are written from it, and the dataset build renders `input` back.
struct planning_request {
  int adults = 0;
  int children = 0;
  std::string diet;
  std::vector<std::string> allergies;
  std::vector<std::pair<std::string, std::string>> pantry; ///< ingredient, quantity
  int max_minutes = 0;
  int dinners = 0;
  std::string workflow;
  std::string mode;
  std::vector<std::size_t> previous_plan; ///< indexes into planning_recipes()
  std::string generated_plan; ///< the plan before the user's edit ("plan: ...; shopping: ...")
  std::string accepted_plan;  ///< after it: `target` less its "; edits: ..."
  std::string edit;           ///< "Tue lentil soup -> bean chili", or "none"
};

struct planning_example {
  std::string id;
  std::string household_id;
  std::string input;
  std::string target;
  std::string timestamp; // RFC 3339, UTC
  std::string policy_version_id;
  planning_request request;
};

/// A recipe of the corpus, as the domain table planner.recipes holds it.
struct planning_recipe {
  std::string name;
  int minutes = 0;
  std::string cuisine;
  std::vector<std::string> contains; ///< meat, fish, dairy, gluten, nuts, egg
  std::vector<std::string> ingredients;
};

/// Every recipe, in the order previous_plan indexes it.
std::vector<planning_recipe> planning_recipes();

/// What each diet and allergy of the corpus rules out (contents of planning_recipe), by
/// its name, as the domain table planner.exclusions holds it.
std::vector<std::pair<std::string, std::vector<std::string>>> planning_exclusions();

/// `rows` examples, the same for the same seed on every machine and standard library
/// (std::mt19937_64's outputs are fixed by the standard; its distributions are not, so
/// none is used). Every plan respects its household's diet, allergies and time limit.
std::vector<planning_example> generate_planning_corpus(std::uint64_t seed, std::size_t rows);

/// The same examples one at a time, for corpora too large to hold (the benchmark's).
void for_each_planning_example(std::uint64_t seed, std::size_t rows,
                               const std::function<void(planning_example&&)>& each);

/// "validation" for about `validation_fraction` of households, "train" for the rest, by
/// core::bucket_of("validation", household_id): a household's rows all land in one
/// split, so validation never sees a household training saw.
std::string corpus_split(const std::string& household_id, double validation_fraction);

} // namespace expd::tools
