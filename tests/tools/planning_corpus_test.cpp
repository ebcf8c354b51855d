#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "core/rfc3339.hpp"
#include "tools/planning_corpus.hpp"

using expd::tools::generate_planning_corpus;

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(planning_corpus, the_same_seed_gives_the_same_corpus) {
  const auto a = generate_planning_corpus(5, 200);
  const auto b = generate_planning_corpus(5, 200);
  const auto c = generate_planning_corpus(6, 200);
  ASSERT_EQ(a.size(), 200u);
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].input, b[i].input);
    EXPECT_EQ(a[i].target, b[i].target);
    EXPECT_EQ(a[i].timestamp, b[i].timestamp);
    differs = differs || a[i].input != c[i].input;
  }
  EXPECT_TRUE(differs);
  EXPECT_TRUE(generate_planning_corpus(1, 0).empty());
}

TEST(planning_corpus, rows_have_unique_ids_and_increasing_times) {
  std::set<std::string> ids;
  std::int64_t last = 0;
  for (const auto& example : generate_planning_corpus(3, 500)) {
    EXPECT_TRUE(ids.insert(example.id).second) << example.id;
    const auto at = expd::core::parse_rfc3339(example.timestamp);
    ASSERT_TRUE(at) << example.timestamp;
    EXPECT_GT(*at, last);
    last = *at;
    EXPECT_EQ(example.household_id.rfind("hh-", 0), 0u);
    EXPECT_FALSE(example.policy_version_id.empty());
    EXPECT_EQ(example.input.rfind("household: ", 0), 0u);
    EXPECT_EQ(example.target.rfind("plan: ", 0), 0u);
  }
}

// The constraints a replay scores (constraint_respect_score) hold in every target.
TEST(planning_corpus, plans_respect_diet_allergies_and_time) {
  const std::regex max_minutes("max (\\d+) min per meal");
  const std::regex minutes("\\((\\d+) min,");
  std::size_t plans = 0;
  for (const auto& example : generate_planning_corpus(11, 2000)) {
    const std::string& in = example.input;
    const std::string& plan = example.target;
    if (has(plan, "plan: none"))
      continue;
    ++plans;
    std::smatch limit;
    ASSERT_TRUE(std::regex_search(in, limit, max_minutes)) << in;
    for (auto it = std::sregex_iterator(plan.begin(), plan.end(), minutes); it != std::sregex_iterator(); ++it)
      EXPECT_LE(std::stoi((*it)[1]), std::stoi(limit[1])) << plan;
    // The shopping list holds every planned ingredient not in the pantry, so a banned
    // ingredient anywhere in the target means a banned recipe was planned.
    const std::string allergies = in.substr(in.find("allergies: "), in.find("; pantry:") - in.find("allergies: "));
    if (has(in, "diet: vegan") || has(in, "diet: vegetarian")) {
      for (const char* meat : {"chicken", "beef", "salmon", "cod"})
        EXPECT_FALSE(has(plan, meat)) << plan;
    }
    if (has(in, "diet: vegan")) {
      for (const char* animal : {"cheese", "eggs", "yogurt", "feta", "parmesan", "crème fraîche"})
        EXPECT_FALSE(has(plan, animal)) << plan;
    }
    if (has(allergies, "nuts")) {
      for (const char* nut : {"peanut", "cashew", "pesto"})
        EXPECT_FALSE(has(plan, nut)) << plan;
    }
    if (has(allergies, "gluten")) {
      for (const char* wheat : {"pasta", "flour", "soy sauce", "rye bread", "flatbread", "gnocchi"})
        EXPECT_FALSE(has(plan, wheat)) << plan;
    }
  }
  EXPECT_GT(plans, 1500u);
}
