#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// The synthetic planning corpus: meal-planning requests and the plans households
// accepted, in the shape of the onboarding spec's section 9.1 (input context: household,
// pantry, constraints, workflow type, previous plan, mode; target: the accepted plan
// with the user's edits; metadata). No weights or data can be downloaded here, so the
// tokenizer is trained on it and the planner fine-tuned on it (docs/gpu.md).
namespace expd::tools {

struct planning_example {
  std::string id;
  std::string household_id;
  std::string input;
  std::string target;
  std::string timestamp; // RFC 3339, UTC
  std::string policy_version_id;
};

/// `rows` examples, the same for the same seed on every machine and standard library
/// (std::mt19937_64's outputs are fixed by the standard; its distributions are not, so
/// none is used). Every plan respects its household's diet, allergies and time limit.
std::vector<planning_example> generate_planning_corpus(std::uint64_t seed, std::size_t rows);

/// "validation" for about `validation_fraction` of households, "train" for the rest, by
/// core::bucket_of("validation", household_id): a household's rows all land in one
/// split, so validation never sees a household training saw.
std::string corpus_split(const std::string& household_id, double validation_fraction);

} // namespace expd::tools
