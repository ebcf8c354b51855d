// The planner request's drift features (core/planner_features) from hand-written inputs.
#include <set>

#include <gtest/gtest.h>

#include "core/planner_features.hpp"

namespace {

using namespace expd::core;

planner_catalogue catalogue() {
  planner_catalogue c;
  c.recipes["dal tadka"] = {"dal tadka", 35, "indian", {}, {"lentils", "rice"}};
  c.recipes["coconut curry"] = {"coconut curry", 30, "thai", {}, {"coconut milk", "coconut", "rice"}};
  return c;
}

TEST(planner_features, reads_every_feature_of_an_input) {
  auto row = planner_features("household: 2 adults, 1 child; diet: vegan; allergies: nuts, gluten; pantry: lentils "
                              "500 g, rice 1 kg, coconut milk 1 can; constraints: max 30 min per meal, 5 dinners, no "
                              "repeats of the previous plan; workflow: weekday_plan; mode: auto; previous plan: dal "
                              "tadka, coconut curry",
                              catalogue());
  ASSERT_TRUE(row);
  EXPECT_EQ(row->numeric, (std::vector<double>{3, 3, 30, 5, 2, 2}));
  EXPECT_EQ(row->categorical, (std::vector<std::string>{"vegan", "weekday_plan", "auto"}));
}

TEST(planner_features, what_an_input_leaves_out_counts_as_none) {
  // The dataset query renders an empty pantry "nothing" and an empty list "none".
  auto row = planner_features("household: 1 adult; diet: omnivore; allergies: none; pantry: nothing; constraints: "
                              "max 20 min per meal, 1 dinner; previous plan: none",
                              catalogue());
  ASSERT_TRUE(row);
  EXPECT_EQ(row->numeric, (std::vector<double>{1, 0, 20, 1, 0, 0}));
  EXPECT_EQ(row->categorical, (std::vector<std::string>{"omnivore", "unstated", "unstated"}));

  row = planner_features("diet: vegan; constraints: 4 dinners; household: 3 children", catalogue());
  ASSERT_TRUE(row);
  EXPECT_EQ(row->numeric, (std::vector<double>{3, 0, 0, 4, 0, 0}));
}

TEST(planner_features, an_unreadable_input_has_none) {
  EXPECT_FALSE(planner_features("household: 2 adults; pantry: rice 1 kg", catalogue()));
  EXPECT_FALSE(planner_features("", catalogue()));
}

TEST(planner_features, the_schema_names_each_value_once) {
  const auto& schema = planner_drift_schema();
  std::set<std::string> names(schema.numeric.begin(), schema.numeric.end());
  names.insert(schema.categorical.begin(), schema.categorical.end());
  EXPECT_EQ(names.size(), schema.numeric.size() + schema.categorical.size());
  EXPECT_EQ(schema.numeric.at(1), "pantry_items");
  auto row = planner_features("diet: vegan; constraints: 2 dinners", catalogue());
  ASSERT_TRUE(row);
  EXPECT_EQ(row->numeric.size(), schema.numeric.size());
  EXPECT_EQ(row->categorical.size(), schema.categorical.size());
  for (auto& name : names)
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
}

} // namespace
